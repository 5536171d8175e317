"""One frozen settings object, built from ``CLAWSCHED_*`` environment variables and passed explicitly.

Nothing else in the package reads ``os.environ`` for configuration: a process builds ``Settings`` once at
its edge (CLI, Celery app module, test fixture) and hands it down.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clawsched.sched.errors import SpecError, UnavailableError
from clawsched.sched.rules import routing

NO_REDIS = ("no Redis is configured: CLAWSCHED_REDIS_URL is not set and no `clawsched up` is running in "
            "CLAWSCHED_HOME={home} (it writes redis.url there). Start `clawsched up`, or set CLAWSCHED_REDIS_URL "
            "to your Redis server")


def _default_shell() -> str:
    return "/bin/zsh" if sys.platform == "darwin" else "/bin/bash"


@dataclass(frozen=True)
class Settings:
    """Everything a clawsched process needs to know about its surroundings."""

    home: Path
    database_url: str
    redis_url: str  # "" when none is configured: ``require_redis_url`` says so; never a silent default
    redis_origin: str = "settings"  # where redis_url came from: CLAWSCHED_REDIS_URL, the home's redis.url, none
    namespace: str = "clawsched"
    shell: str = field(default_factory=_default_shell)
    artifacts_dir: Path | None = None
    heartbeat_interval_s: float = 2.0
    stale_after_s: float = 90.0
    beat_max_interval_s: float = 5.0
    beat_batch_size: int = 500
    catchup_interval_s: float = 1.0  # catchup all: the spacing between replayed fires of a job (docs/scheduling.md)
    requeue_after_s: float = 120.0
    lost_grace_s: float = 5.0  # a queued run in no broker queue this long after its send is re-sent (requeue.py)
    retry_scale: float = 1.0
    worker_concurrency: int = 2
    log_level: str = "INFO"
    gateway_url: str = "http://127.0.0.1:18789"
    gateway_token: str | None = None
    gateway_token_path: Path | None = None
    hooks_token: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8765
    api_token: str | None = None
    embedded_redis_port: int = 0
    run_retention_days: float = 90.0  # finished runs older than this are pruned (0 keeps every run)
    prune_interval_s: float = 300.0  # how often (across all beats) the pruning pass does its work
    post_run: str = "inline"  # "inline": pipeline in the run task; "callback": a Celery link task
    gateway_defer_s: float = 3600.0  # how long an agent run waits for an unready gateway before it is skipped
    webhook_allowed_hosts: tuple[str, ...] = ()  # hosts a webhook may reach though not public (egress.py)
    shell_pass_env: tuple[str, ...] = ()  # worker variables shell jobs get besides the allow-list (shell.py)
    metrics_host: str = "127.0.0.1"  # where a worker's and a beat's /metrics listen (docs/metrics.md)
    worker_metrics_port: int = 0  # 0: the worker serves no /metrics
    beat_metrics_port: int = 0  # 0: the beat serves no /metrics
    worker_queues: tuple[str, ...] = routing.DEFAULT_ROUTES  # what ``clawsched worker`` consumes by default
    output_store: str = "database"  # where offloaded output goes: "database" (every host reads it) or "file"

    @property
    def artifacts(self) -> Path:
        return self.artifacts_dir or self.home / "artifacts"

    @property
    def queue(self) -> str:
        """The Celery queue of run tasks; the namespace keeps test sessions and tenants apart."""
        return self.namespace

    def run_queue(self, route: str) -> str:
        """The Celery queue of runs on ``route`` (``shell``, ``agent``, a job's ``queue``; rules/routing)."""
        return routing.celery_queue(self.namespace, route)

    def consumed_queues(self, routes: tuple[str, ...] | None = None) -> list[str]:
        """What a worker consumes: the base queue (upkeep, callbacks) and each route's run queue."""
        return [self.queue, *(self.run_queue(r) for r in (routes or self.worker_queues))]

    def key(self, *parts: str) -> str:
        """A Redis key inside this installation's namespace."""
        return ":".join((self.namespace, *parts))

    @property
    def redis_url_file(self) -> Path:
        """Where ``clawsched up`` writes the URL of the Redis it started, so other terminals find it."""
        return self.home / "redis.url"

    def require_redis_url(self) -> str:
        """The Redis URL, or an ``UnavailableError`` saying how to configure one (never another server)."""
        if not self.redis_url:
            raise UnavailableError(NO_REDIS.format(home=self.home))
        return self.redis_url

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("CLAWSCHED_HOME") or Path.home() / ".clawsched").expanduser()
        database_url = env.get("CLAWSCHED_DATABASE_URL") or f"sqlite:///{home / 'clawsched.db'}"
        redis_url, redis_origin = _redis_url(env, home)
        token_path = env.get("OPENCLAW_GATEWAY_TOKEN_PATH")
        return cls(
            home=home,
            database_url=database_url,
            redis_url=redis_url,
            redis_origin=redis_origin,
            namespace=env.get("CLAWSCHED_NAMESPACE", "clawsched"),
            shell=env.get("CLAWSCHED_SHELL") or _default_shell(),
            artifacts_dir=Path(env["CLAWSCHED_ARTIFACTS_DIR"]) if env.get("CLAWSCHED_ARTIFACTS_DIR") else None,
            heartbeat_interval_s=_number(env, "CLAWSCHED_HEARTBEAT_S", 2.0),
            stale_after_s=_number(env, "CLAWSCHED_STALE_AFTER_S", 90.0),
            beat_max_interval_s=_number(env, "CLAWSCHED_BEAT_MAX_INTERVAL_S", 5.0),
            **_beat_claims(env),
            requeue_after_s=_number(env, "CLAWSCHED_REQUEUE_AFTER_S", 120.0),
            lost_grace_s=_number(env, "CLAWSCHED_LOST_GRACE_S", 5.0),
            retry_scale=_number(env, "CLAWSCHED_RETRY_SCALE", 1.0),
            worker_concurrency=int(_number(env, "CLAWSCHED_WORKER_CONCURRENCY", 2)),
            log_level=env.get("CLAWSCHED_LOG_LEVEL", "INFO").upper(),
            gateway_url=env.get("OPENCLAW_GATEWAY_URL", "http://127.0.0.1:18789").rstrip("/"),
            gateway_token=env.get("OPENCLAW_GATEWAY_TOKEN") or None,
            gateway_token_path=Path(token_path).expanduser() if token_path else None,
            hooks_token=env.get("OPENCLAW_HOOKS_TOKEN") or None,
            api_host=env.get("CLAWSCHED_API_HOST", "127.0.0.1"),
            api_port=int(_number(env, "CLAWSCHED_API_PORT", 8765)),
            api_token=env.get("CLAWSCHED_API_TOKEN") or None,
            embedded_redis_port=int(_number(env, "CLAWSCHED_EMBEDDED_REDIS_PORT", 0)),
            run_retention_days=_number(env, "CLAWSCHED_RUN_RETENTION_DAYS", 90.0),
            prune_interval_s=_number(env, "CLAWSCHED_PRUNE_INTERVAL_S", 300.0),
            post_run=_choice(env, "CLAWSCHED_POST_RUN", ("inline", "callback")),
            gateway_defer_s=_number(env, "CLAWSCHED_GATEWAY_DEFER_S", 3600.0),
            shell_pass_env=tuple(n.strip() for n in env.get("CLAWSCHED_SHELL_PASS_ENV", "").split(",") if n.strip()),
            webhook_allowed_hosts=tuple(h.strip().lower() for h in env.get("CLAWSCHED_WEBHOOK_ALLOWED_HOSTS", "")
                                        .split(",") if h.strip()),
            **_metrics_endpoints(env), **_fleet(env),
        )


def _beat_claims(env: Mapping[str, str]) -> dict[str, Any]:
    """How much a beat claims at once, and how far apart it replays a job's missed fires (catchup all)."""
    return {"beat_batch_size": int(_number(env, "CLAWSCHED_BEAT_BATCH", 500)),
            "catchup_interval_s": _number(env, "CLAWSCHED_CATCHUP_INTERVAL_S", 1.0)}


def _metrics_endpoints(env: Mapping[str, str]) -> dict[str, Any]:
    """Where a worker's and a beat's ``/metrics`` listen; a port of 0 (the default) serves none."""
    return {"metrics_host": env.get("CLAWSCHED_METRICS_HOST", "127.0.0.1"),
            "worker_metrics_port": int(_number(env, "CLAWSCHED_WORKER_METRICS_PORT", 0)),
            "beat_metrics_port": int(_number(env, "CLAWSCHED_BEAT_METRICS_PORT", 0))}


def _fleet(env: Mapping[str, str]) -> dict[str, Any]:
    """What a fleet of hosts needs: the queues a worker consumes, where offloaded output goes (docs/fleet.md)."""
    try:
        queues = routing.parse_routes(env.get("CLAWSCHED_WORKER_QUEUES") or ",".join(routing.DEFAULT_ROUTES),
                                      field="CLAWSCHED_WORKER_QUEUES")
    except ValueError as exc:
        raise SpecError(str(exc), field="CLAWSCHED_WORKER_QUEUES") from None
    return {"output_store": _choice(env, "CLAWSCHED_OUTPUT_STORE", ("database", "file")), "worker_queues": queues}


def _redis_url(env: Mapping[str, str], home: Path) -> tuple[str, str]:
    """The Redis to use and where it was named: the environment, else the URL ``clawsched up`` wrote into
    the home; else none at all (``""``), which commands that need Redis report (``require_redis_url``)."""
    if env.get("CLAWSCHED_REDIS_URL"):
        return env["CLAWSCHED_REDIS_URL"], "CLAWSCHED_REDIS_URL"
    embedded = _embedded_redis_url(home)
    if embedded:
        return embedded, f"{home / 'redis.url'} (written by clawsched up)"
    return "", "none"


def _embedded_redis_url(home: Path) -> str | None:
    try:
        return (home / "redis.url").read_text().strip() or None
    except OSError:
        return None


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name) or allowed[0]
    if raw not in allowed:
        raise SpecError(f"{name}={raw!r} is not one of {', '.join(allowed)}", field=name)
    return raw


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SpecError(f"{name}={raw!r} is not a number; set it to a number like {default:g}", field=name) from None
