"""Too late to start: a worker records ``missed`` (with the reason) for a run past its job's
``starting_deadline_s`` or ``schedule_to_start_s``, and never starts it."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import update

from clawsched.sched import jobs, runs
from clawsched.sched.rules import misfire
from clawsched.sched.store.models import RUNS, utcnow
from clawsched.workers import execution

SHELL = {"session_target": "shell", "run_timeout_ms": 10_000, "schedule_cron": "0 0 1 1 *",
         "payload_message": "touch should-not-exist"}


def _queued(store, job_id: str, **values) -> str:
    run_id = jobs.run_now(store, job_id)
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="queued", **values))
    return run_id


def test_a_run_waiting_past_schedule_to_start_ends_missed(store, settings, tmp_path):
    from clawsched.sched.runtime import Runtime

    job = jobs.create(store, {**SHELL, "name": "waits", "schedule_to_start_s": 5, "cwd": str(tmp_path)})
    stale = _queued(store, job.id, created_at=utcnow() - timedelta(seconds=10))
    rt = Runtime(settings)
    try:
        assert execution.execute_and_process(rt, stale) == runs.RunStatus.MISSED
    finally:
        rt.close()
    run = runs.get(store, stale)
    assert run.status == "missed" and run.started_at is None and run.finished_at is not None
    assert run.skip_reason.startswith("not_started: ") and "schedule_to_start_s (5)" in run.skip_reason
    assert not (tmp_path / "should-not-exist").exists()


def test_a_scheduled_fire_past_its_starting_deadline_ends_missed(store, settings):
    from clawsched.sched.runtime import Runtime

    job = jobs.create(store, {**SHELL, "name": "deadline", "starting_deadline_s": 60})
    now = utcnow()
    late = _queued(store, job.id, trigger="schedule", scheduled_for=now - timedelta(minutes=2))
    rt = Runtime(settings)
    try:
        assert execution.execute_and_process(rt, late) == runs.RunStatus.MISSED
    finally:
        rt.close()
    run = runs.get(store, late)
    assert run.status == "missed" and run.skip_reason.startswith("past_deadline: ")
    assert jobs.get(store, job.id).last_status == "missed"


def test_a_run_in_time_is_not_missed():
    job = SimpleNamespace(starting_deadline_s=60, schedule_to_start_s=30)
    now = utcnow()
    on_time = SimpleNamespace(trigger="schedule", scheduled_for=now - timedelta(seconds=59),
                              created_at=now - timedelta(seconds=29))
    assert misfire.start_too_late(job, on_time, now) is None
    manual = SimpleNamespace(trigger="manual", scheduled_for=None, created_at=now - timedelta(seconds=31))
    assert misfire.start_too_late(job, manual, now).reason.value == "not_started"


def test_the_upkeep_pass_ends_a_run_no_worker_took_missed_and_leaves_one_in_time(store, settings):
    from clawsched.sched.runtime import Runtime
    from clawsched.workers.upkeep import deadlines, passes

    job = jobs.create(store, {**SHELL, "name": "unconsumed", "schedule_to_start_s": 5})
    plain = jobs.create(store, {**SHELL, "name": "no deadline"})
    now = utcnow()
    stale = _queued(store, job.id, created_at=now - timedelta(seconds=10))
    fresh = _queued(store, job.id, created_at=now - timedelta(seconds=1))
    old_plain = _queued(store, plain.id, created_at=now - timedelta(hours=1))
    rt = Runtime(settings)
    try:
        assert "expire_unstarted" in dict(passes.PASSES)
        assert deadlines.expire_unstarted(rt, None, now) == 1
        assert deadlines.expire_unstarted(rt, None, now) == 0  # nothing twice
    finally:
        rt.close()
    assert runs.get(store, stale).status == "missed"
    assert runs.get(store, stale).skip_reason.startswith("not_started: ")
    assert (runs.get(store, fresh).status, runs.get(store, old_plain).status) == ("queued", "queued")
