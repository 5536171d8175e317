"""Shared fixtures for the agent, delivery, messages and dispatch tests: the stand-in gateway and a
Celery app, worker and beat pointed at it. Imported by those test modules with ``from ... import *``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.store.models import utcnow
from tests.conftest import BeatThread
from tests.support.gateway_stub import GatewayStub
from tests.support.waiting import wait_for


@pytest.fixture
def gateway() -> Iterator[GatewayStub]:
    with GatewayStub() as stub:
        yield stub


@pytest.fixture
def agent_settings(settings: Any, gateway: GatewayStub) -> Any:
    return settings.with_(gateway_url=gateway.url, gateway_token=gateway.token, hooks_token=gateway.hooks_token,
                          retry_scale=0.05)


@pytest.fixture
def agent_app(agent_settings: Any, redis: Any) -> Any:
    from clawsched.workers.app import create_app

    return create_app(agent_settings)


@pytest.fixture
def agent_worker(agent_app: Any) -> Iterator[Any]:
    from tests.conftest import running_worker

    with running_worker(agent_app) as w:
        yield w


@pytest.fixture
def agent_beat(agent_app: Any) -> Iterator[BeatThread]:
    b = BeatThread(agent_app).start()
    yield b
    b.stop()


@pytest.fixture
def rt(agent_settings: Any) -> Iterator[Any]:
    from clawsched.sched.runtime import Runtime

    runtime = Runtime(agent_settings)
    yield runtime
    runtime.close()


def agent_job(**fields: Any) -> dict[str, Any]:
    spec = {"name": "Agent job", "session_target": "isolated", "agent_id": "main",
            "payload_message": "Summarize status",
            "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *", "run_timeout_ms": 20_000}
    spec.update(fields)
    return spec


def run_and_wait(store: Any, redis: Any, settings: Any, job_id: str, timeout: float = 15) -> Any:
    """Queue a manual run, wake the beat, and wait until the run is finished and finalised."""
    from clawsched.sched.coordination.wake import notify

    run_id = jobs.run_now(store, job_id)
    notify(redis, settings, "test")
    return wait_for(lambda: (r := runs.get(store, run_id)).finalized_at is not None and r, timeout=timeout,
                    what=f"run {run_id} to finish and be finalised")


def finished_run(store: Any, job: Any, status: str = "ok", **values: Any) -> Any:
    """A run row that finished (as an executor would have left it), without the pipeline having run."""
    from clawsched.sched.store.models import Run, new_id

    now = utcnow()
    run = Run(id=new_id(), job_id=job.id, status=status, trigger="manual", created_at=now, started_at=now,
              finished_at=now, duration_ms=5, **values)
    with store.session() as s:
        s.add(run)
    return runs.get(store, run.id)


__all__ = ["gateway", "agent_settings", "agent_app", "agent_worker", "agent_beat", "rt", "agent_job",
           "run_and_wait", "finished_run"]
