"""Whether this installation can do its work: the database and Redis answer (the Redis the settings name,
never another), at least one beat and one worker are alive (their announcements, ``coordination.presence``),
and whether the gateway is ready.

The CLI's ``status`` and the API's ``/readyz`` both report this one answer. The gateway is reported but not
required: shell jobs run without it, and agent runs wait for it (the gateway gate). The caller passes the
gateway probe in, because the gateway client lives with the workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from clawsched.sched.coordination import presence
from clawsched.sched.coordination.connection import probe
from clawsched.sched.settings import Settings
from clawsched.sched.store.engine import Store

REQUIRED = ("database", "redis", "beat", "worker")
REMEDY = {
    "database": "check CLAWSCHED_DATABASE_URL and that the database server is up",
    "redis": "start `clawsched up` or the Redis server CLAWSCHED_REDIS_URL names",
    "beat": "start `clawsched beat` (or `clawsched up`); without one nothing is scheduled or sent",
    "worker": "start `clawsched worker` (or `clawsched up`); without one queued runs wait",
}


def safe_url(url: str) -> str:
    """A URL with its password hidden: ``redis://***@host:6379/0``."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def database(store: Store) -> dict[str, Any]:
    url = safe_url(store.url)
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "url": url}
    except Exception as exc:
        return {"ok": False, "url": url, "error": f"down: {_error(exc)}"}


def redis(settings: Settings) -> tuple[dict[str, Any], Any]:
    """The Redis the settings name, and a client for it when it answered (else None)."""
    if not settings.redis_url:
        return {"ok": False, "url": None, "origin": settings.redis_origin, "error": _no_redis(settings)}, None
    report: dict[str, Any] = {"url": safe_url(settings.redis_url), "origin": settings.redis_origin}
    client = probe(settings.redis_url)
    try:
        client.ping()
    except Exception as exc:
        return {**report, "ok": False, "error": f"down: {_error(exc)}"}, None
    return {**report, "ok": True}, client


def fleet(settings: Settings, client: Any) -> dict[str, dict[str, Any]]:
    """The live beats and workers; unknown (``ok`` None) without a Redis to ask."""
    if client is None:
        unknown: dict[str, Any] = {"ok": None, "live": [], "error": "unknown: Redis is not reachable"}
        return {"beat": dict(unknown), "worker": dict(unknown)}
    try:
        found = presence.live(client, settings)
    except Exception as exc:
        failed: dict[str, Any] = {"ok": None, "live": [], "error": f"unknown: {_error(exc)}"}
        return {"beat": dict(failed), "worker": dict(failed)}
    return {kind: {"ok": bool(found[kind]), "live": found[kind]} for kind in ("beat", "worker")}


def gateway(settings: Settings, ready: Callable[[], bool] | None) -> dict[str, Any]:
    report: dict[str, Any] = {"url": settings.gateway_url, "required": False}
    if ready is None:
        return {**report, "ok": None, "note": "not checked"}
    try:
        ok = bool(ready())
    except Exception as exc:
        return {**report, "ok": False, "error": _error(exc)}
    note = "agent runs go through" if ok else "agent runs wait for it; shell runs are not affected"
    return {**report, "ok": ok, "note": note}


def check(settings: Settings, store: Store, *, gateway_ready: Callable[[], bool] | None = None) -> dict[str, Any]:
    """The whole answer: ``ok`` (every required part is up), ``missing`` (parts known to be down, each
    with what to do), ``unknown`` (parts nobody could ask about: the fleet while Redis is down) and
    ``checks`` (each part's report; the live processes with their fields)."""
    redis_report, client = redis(settings)
    checks: dict[str, Any] = {"database": database(store), "redis": redis_report, **fleet(settings, client),
                              "gateway": gateway(settings, gateway_ready)}
    missing = [name for name in REQUIRED if checks[name]["ok"] is False]
    unknown = [name for name in REQUIRED if checks[name]["ok"] is None]
    return {"ok": not missing and not unknown, "missing": missing, "unknown": unknown,
            "remedies": {name: REMEDY[name] for name in missing}, "checks": checks}


def _no_redis(settings: Settings) -> str:
    try:
        settings.require_redis_url()
    except Exception as exc:
        return f"not configured: {exc}"
    return ""


def _error(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__
