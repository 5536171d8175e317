"""Fixtures: real Redis, real databases (SQLite always, PostgreSQL when configured), real Celery
workers and a real beat. Nothing of clawsched's own infrastructure is mocked."""

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
from tests.support import services

PG_URL = os.environ.get("CLAWSCHED_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with services.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return services.sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[str | None]:
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
def database_url(backend: str, tmp_path: Path, sqlite_template: Path, postgres_ready: str | None) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "clawsched.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    assert postgres_ready
    from clawsched.sched.store.engine import Store

    store = Store(postgres_ready)
    services.truncate_postgres(store)
    store.dispose()
    yield postgres_ready


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        namespace=f"t{uuid.uuid4().hex[:10]}",
        heartbeat_interval_s=0.25,
        lease_ttl_s=3.0,
        stale_after_s=3.0,
        beat_max_interval_s=1.0,
        requeue_after_s=2.0,
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Any]:
    from clawsched.sched.store.engine import Store

    s = Store(settings.database_url)
    yield s
    s.dispose()


@pytest.fixture
def redis(settings: Settings) -> Iterator[Any]:
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
    """A real Celery worker consuming the app's queue, in threads of the test process."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING",
                      queues=[app.clawsched_settings.queue], shutdown_timeout=20) as w:
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
