"""Fixtures: real Redis, real databases (SQLite always, PostgreSQL when configured), real Celery
workers and a real beat. Nothing of clawsched's own infrastructure is mocked.

A test that asks only for ``store``/``settings`` on SQLite starts no server: ``settings.redis_url`` names
the session's Redis only when the test's fixtures include ``redis_url`` (every Redis, app, worker and beat
fixture depends on it); otherwise it names a tripwire that fails the test if anything connects to it.
Such tests are marked ``fast`` at collection (tests/support/layers.py); ``pytest -m fast`` runs them."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from clawsched.sched.settings import Settings
from tests.support import layers, services

PG_URL = os.environ.get("CLAWSCHED_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]

_running: list[pytest.Item] = []  # the test being run, for the guard in pytest_fixture_setup


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers this adds
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    layers.classify(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    _running.append(item)
    try:
        yield
    finally:
        _running.remove(item)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the fast tests over their budget, so the layer stays fast as it grows."""
    reports = [r for found in terminalreporter.stats.values() for r in found if isinstance(r, pytest.TestReport)]
    over = sorted((r.duration, r.nodeid) for r in reports if r.when == "call" and "fast" in r.keywords
                  and r.duration > layers.FAST_TEST_BUDGET_S)
    if over:
        terminalreporter.section(f"fast tests over {layers.FAST_TEST_BUDGET_S:g}s (make them faster or mark them slow)")
        for duration, nodeid in reversed(over):
            terminalreporter.write_line(f"{duration:6.2f}s {nodeid}")


def _refuse_in_fast(fixture: str) -> None:
    """A fast test never starts a server, not even through ``request.getfixturevalue``."""
    if any(i.get_closest_marker("fast") for i in _running):
        pytest.fail(f"a fast test asked for the server fixture {fixture!r}; fast tests start none")


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
    # Called for function-scoped fixtures under tests/; the session-scoped servers check for themselves.
    if fixturedef.argname in layers.SERVER_FIXTURES:
        _refuse_in_fast(fixturedef.argname)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    _refuse_in_fast("redis_url")
    with services.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return services.sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[str | None]:
    _refuse_in_fast("postgres_ready")
    if not PG_URL:
        yield None
        return
    url, schema = services.session_postgres(PG_URL)
    yield url
    services.drop_postgres_schema(PG_URL, schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "clawsched.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    postgres_ready = request.getfixturevalue("postgres_ready")  # only PostgreSQL tests make the schema
    assert postgres_ready
    from clawsched.sched.store.engine import Store

    store = Store(postgres_ready)
    services.truncate_postgres(store)
    store.dispose()
    yield postgres_ready


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[Settings]:
    wire = None if layers.needs_redis(request.node) else services.Tripwire()  # one per test: no stray hits
    redis_url = wire.url if wire else str(request.getfixturevalue("redis_url"))
    yield Settings(
        home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        namespace=f"t{uuid.uuid4().hex[:10]}",
        heartbeat_interval_s=0.25,
        stale_after_s=3.0,
        beat_max_interval_s=1.0,
        requeue_after_s=2.0,
    )
    if wire is None:
        return
    wire.close()
    if wire.hits:
        pytest.fail(f"{request.node.nodeid} connected to settings.redis_url but asks for no Redis fixture: "
                    "ask for `redis` (or mark it needs_redis)")


@pytest.fixture
def store(settings: Settings) -> Iterator[Any]:
    from clawsched.sched.store.engine import Store

    s = Store(settings.database_url)
    yield s
    s.dispose()


@pytest.fixture
def redis(settings: Settings, redis_url: str) -> Iterator[Any]:
    from clawsched.sched.coordination.connection import client

    r = client(settings.redis_url)
    yield r
    keys = list(r.scan_iter(match=f"{settings.namespace}*", count=1000))
    if keys:
        r.delete(*keys)


@pytest.fixture
def app(settings: Settings, redis: Any) -> Any:
    from clawsched.workers.app import create_app

    return create_app(settings)


@contextmanager
def running_worker(app: Any) -> Iterator[Any]:
    """A real Celery worker consuming the app's queues (upkeep, shell, agent), in threads of the test process."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING",
                      queues=app.clawsched_settings.consumed_queues(), shutdown_timeout=20) as w:
        yield w


@pytest.fixture
def worker(app: Any) -> Iterator[Any]:
    with running_worker(app) as w:
        yield w


class BeatThread:
    """A real SQLScheduler beat service in a thread (the same class ``clawsched beat`` runs)."""

    def __init__(self, app: Any) -> None:
        from celery.beat import Service

        from clawsched.beat.scheduler import SQLScheduler

        self.service = Service(app, scheduler_cls=SQLScheduler, max_interval=app.clawsched_settings.beat_max_interval_s)
        self.thread = threading.Thread(target=self.service.start, name="beat", daemon=True)

    def start(self) -> BeatThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.service.stop()
        from clawsched.sched.coordination.connection import client
        from clawsched.sched.coordination.wake import notify

        notify(client(self.service.app.clawsched_settings.redis_url), self.service.app.clawsched_settings, "stop")
        self.thread.join(timeout=15)


@pytest.fixture
def beat(app: Any) -> Iterator[BeatThread]:
    b = BeatThread(app).start()
    yield b
    b.stop()


@pytest.fixture
def run_cli(settings: Settings, redis: Any) -> Any:
    """``run_cli(*args, expect=0, env=None)``: ``clawsched ARGS`` in process against this test's settings."""
    from tests.support.cli import invoker

    return invoker(settings)
