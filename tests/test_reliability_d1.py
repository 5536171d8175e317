"""Issue 19, D1: a database blip between a run's start and its finish, or just before its load.

The PostgreSQL tests drop every connection of a real worker process server-side
(``pg_terminate_backend``): the worker connects with an ``application_name`` of its own, so only its
backends are terminated, not those of the test process or of other test sessions sharing the database.
An at-least-once job must end ``ok``, exactly once (no crash, no replay); a run whose load hits the
dropped connection must start within seconds, not at the lost-message requeue (set to 120 s here).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Reject
from sqlalchemy import update

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.outcomes import Outcome
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus
from clawsched.sched.store import finishing
from clawsched.sched.store.models import Run
from clawsched.sched.store.tables import utcnow
from clawsched.workers import execution, unrecorded
from clawsched.workers.upkeep import reaper
from tests.conftest import PG_URL
from tests.support import services
from tests.support.lifecycle import start_run
from tests.support.waiting import wait_for
from tests.support.worker_process import worker_process

needs_postgres = pytest.mark.skipif(
    not PG_URL, reason="CLAWSCHED_TEST_DATABASE_URL is not set: the D1 database-restart tests need a real "
                       "PostgreSQL (set CLAWSCHED_TEST_DATABASE_URL to run them)")

TERMINAL = ("ok", "error", "timeout", "cancelled", "crashed", "skipped")


def shell(name: str, payload: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "session_target": "shell", "payload_message": payload, "run_timeout_ms": 60_000,
            "schedule_cron": "0 0 1 1 *", **fields}


def terminate_backends(application_name: str) -> int:
    """Drop every connection of that application server-side; how many backends were terminated."""
    import psycopg

    assert PG_URL
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = %s AND pid <> pg_backend_pid()", (application_name,)).fetchall()
    return sum(1 for (done,) in rows if done)


def _own_connections(settings: Any) -> tuple[str, str]:
    """A database URL for the worker process that names its connections, and that name."""
    name = f"clawsched-d1-{uuid.uuid4().hex[:8]}"
    joiner = "&" if "?" in settings.database_url else "?"
    return f"{settings.database_url}{joiner}application_name={name}", name


def _finished(store: Any, run_id: str) -> Any:
    found = runs.get(store, run_id)
    return found if found.status in TERMINAL else None


@needs_postgres
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_database_restart_between_start_and_finish_records_the_outcome_once(backend, app, store, redis, beat,
                                                                               settings, tmp_path):
    gate, ran = tmp_path / "go", tmp_path / "ran"
    job = jobs.create(store, shell("d1-finish", f"echo ran >> {ran}; while [ ! -e {gate} ]; do sleep 0.02; done; "
                                                "echo done", delivery_guarantee="at-least-once"))
    url, name = _own_connections(settings)
    with worker_process(app, settings, tmp_path / "worker.log", CLAWSCHED_DATABASE_URL=url) as worker:
        run_id = jobs.run_now(store, job.id)
        notify(redis, settings, "test")
        wait_for(lambda: runs.get(store, run_id).status == "running", timeout=30, what="the run to start")
        dropped = terminate_backends(name)  # the shell is still waiting: its worker's connections all go
        gate.touch()
        final = wait_for(lambda: _finished(store, run_id), timeout=30, what="the run to end")
        log = worker.output()
    assert dropped >= 1, "the worker's connections were terminated"
    assert final.status == "ok", f"{final.status}: {final.error_message}\n{log[-3000:]}"
    assert final.shell_stdout.strip().endswith("done")
    assert [r.id for r in runs.for_job(store, job.id)] == [run_id], "no crash replay"
    assert ran.read_text().splitlines() == ["ran"], "the shell ran exactly once"
    assert jobs.get(store, job.id).last_status == "ok"
    assert "recording its outcome" in log and "retrying" in log, "each attempt is logged"


@needs_postgres
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_database_restart_just_before_a_load_delays_the_run_by_seconds_not_the_requeue(
        backend, app, store, redis, beat, settings, tmp_path):
    first = jobs.create(store, shell("d1-first", "true"))
    second = jobs.create(store, shell("d1-second", "echo second"))
    url, name = _own_connections(settings)
    with worker_process(app, settings, tmp_path / "worker.log", concurrency=1, CLAWSCHED_DATABASE_URL=url,
                        CLAWSCHED_REQUEUE_AFTER_S="120") as worker:
        warm = jobs.run_now(store, first.id)  # the worker's connection is in use, so no idle ping saves it
        notify(redis, settings, "test")
        wait_for(lambda: runs.get(store, warm).status == "ok", timeout=30, what="the first run")
        dropped = terminate_backends(name)
        run_id = jobs.run_now(store, second.id)
        notify(redis, settings, "test")
        final = wait_for(lambda: _finished(store, run_id), timeout=15, what="the second run to end (not at the "
                                                                            "120 s requeue)")
        log = worker.output()
    assert dropped >= 1
    assert final.status == "ok", f"{final.status}: {final.error_message}\n{log[-3000:]}"
    assert final.started_at - final.created_at < timedelta(seconds=5)


def test_a_store_that_stays_down_sends_the_run_message_back_instead_of_acking_it(settings, caplog):
    down = services.free_port()  # nothing listens there: every connection is refused
    rt = Runtime(replace(settings, database_url=f"postgresql://postgres@127.0.0.1:{down}/clawsched"))
    try:
        with caplog.at_level(logging.WARNING, logger="clawsched.sched.store.retrying"), \
                pytest.raises(Reject) as rejected:
            execution.execute_and_process(rt, "run-that-cannot-load")
    finally:
        rt.close()
    assert rejected.value.requeue is True
    attempts = [r for r in caplog.records if "run run-that-cannot-load: loading it: attempt" in r.getMessage()]
    assert len(attempts) >= 3, [r.getMessage() for r in caplog.records]
    assert any("kept failing" in r.getMessage() for r in caplog.records)


def test_a_retried_outcome_write_that_had_committed_returns_the_recorded_outcome(store):
    job = jobs.create(store, shell("d1-retried", "true"))
    run_id = _running(store, job.id)
    run = runs.get(store, run_id)
    now = utcnow()
    values = finishing.columns(run, Outcome(RunStatus.OK, summary="done"), now)
    first = finishing.finish_loaded(store, job, run, values, now=now)
    assert first is not None and first.run.status == "ok"
    again = finishing.finish_loaded(store, job, run, values, now=now, retried=True)  # its answer was lost
    assert again is not None and again.run.status == "ok" and again.run.finished_at == now
    other = finishing.columns(run, Outcome(RunStatus.OK), now + timedelta(seconds=1))
    assert finishing.finish_loaded(store, job, run, other, now=now, retried=True) is None  # not this write's


def test_an_outcome_kept_for_the_background_writer_keeps_its_run_alive_until_it_is_recorded(store, settings):
    job = jobs.create(store, shell("d1-kept", "true"))
    run_id = _running(store, job.id, heartbeat_age=timedelta(hours=1))  # stale unless something beats for it
    run, ended = runs.get(store, run_id), utcnow()
    rt = Runtime(settings)
    try:
        unrecorded.keep(rt, job, run, finishing.columns(run, Outcome(RunStatus.OK), ended), ended)
        wait_for(lambda: runs.get(store, run_id).last_heartbeat > ended, timeout=5, what="a heartbeat")
        assert reaper.reap_stale(rt, None, utcnow()) == 0, "a kept outcome's run is alive, not crashed"
        final = wait_for(lambda: (r := runs.get(store, run_id)).finalized_at and r, timeout=20,
                         what="the kept outcome to be written and finalised")
    finally:
        rt.close()
    assert (final.status, final.finished_at) == ("ok", ended)
    assert unrecorded.writer(rt).pending() == []


def _running(store: Any, job_id: str, heartbeat_age: timedelta = timedelta(0)) -> str:
    """A run of the job started by hand (queued, then the worker's guarded start), its heartbeat that old."""
    run_id = jobs.run_now(store, job_id)
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(status="queued"))
    assert start_run(store, run_id)
    if heartbeat_age:
        with store.session() as s:
            s.execute(update(Run).where(Run.id == run_id).values(last_heartbeat=utcnow() - heartbeat_age))
    return run_id
