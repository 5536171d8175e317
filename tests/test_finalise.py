"""Early finalisation: a run whose post-run pipeline has nothing to do is finalised by the statement that
records its outcome; anything that might have work (children, a plugin's step) still gets the pipeline."""

from __future__ import annotations

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.outcomes import Outcome
from clawsched.sched.rules.predicates import Equals, job
from clawsched.sched.store import finishing
from clawsched.sched.store.models import utcnow
from clawsched.workers import execution, gates
from clawsched.workers.post_run import pipeline, steps
from clawsched.workers.post_run.step import Step
from tests.support.lifecycle import load_run, start_run


def _queued_run(store, job_id):
    from sqlalchemy import update

    from clawsched.sched.store.models import RUNS

    run_id = jobs.run_now(store, job_id)
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="queued"))
    return run_id


@pytest.fixture
def runtime(settings, redis):
    from clawsched.sched.runtime import Runtime

    rt = Runtime(settings.with_(post_run="inline"))
    yield rt
    rt.close()


SHELL = {"session_target": "shell", "run_timeout_ms": 5000, "schedule_cron": "0 0 1 1 *"}


def test_a_run_with_nothing_downstream_is_finalised_as_its_outcome_is_recorded(store, runtime):
    job = jobs.create(store, {**SHELL, "name": "plain", "payload_message": "true"})
    run_id = _queued_run(store, job.id)
    assert execution.execute_and_process(runtime, run_id) == runs.RunStatus.OK
    run = runs.get(store, run_id)
    assert run.status == "ok" and run.finalized_at == run.finished_at  # one statement wrote both
    assert jobs.get(store, job.id).last_status == "ok"


def test_a_child_added_while_its_parent_runs_still_fires(store, runtime):
    """Whether the job has children is read by the finishing statement itself, not when the run started."""
    parent = jobs.create(store, {**SHELL, "name": "parent", "payload_message": "true"})
    run_id = _queued_run(store, parent.id)
    loaded = load_run(runtime, run_id)
    assert loaded is not None
    child = jobs.create(store, {"session_target": "shell", "run_timeout_ms": 5000, "name": "late child",
                                "payload_message": "true", "parent_id": parent.id, "trigger_on": "success"})
    job, run = loaded.job, loaded.run
    assert loaded.started or start_run(store, run_id)
    run.started_at = runs.get(store, run_id).started_at
    now = utcnow()
    values = finishing.columns(run, Outcome(runs.RunStatus.OK), now)
    finalize = pipeline.finalize_when(job, finishing.preview(run, values))
    assert finalize == finishing.Finalize.UNLESS_CHILDREN
    done = finishing.finish_loaded(store, job, run, values, now=now, finalize=finalize)
    assert done is not None and not done.finalized and runs.get(store, run_id).finalized_at is None
    assert pipeline.run_steps(runtime, done.job, done.run, now=utcnow())
    (child_run,) = runs.for_job(store, child.id)
    assert child_run.triggered_by_run == run_id
    assert runs.get(store, run_id).finalized_at is not None


def test_a_step_that_has_work_keeps_the_run_from_early_finalisation(store, runtime, monkeypatch):
    """The worker asks every step's ``has_work`` before it writes the outcome; one that says yes runs."""
    seen: list[str] = []
    recorder = Step("test_recorder", lambda job, run, has_children: True, lambda rt, job, run, now: seen.append(run.id))
    monkeypatch.setattr(steps, "STEPS", (*steps.STEPS, recorder))
    job = jobs.create(store, {**SHELL, "name": "watched", "payload_message": "true"})
    run_id = _queued_run(store, job.id)
    assert execution.execute_and_process(runtime, run_id) == runs.RunStatus.OK
    assert seen == [run_id]
    run = runs.get(store, run_id)
    assert run.finalized_at is not None and run.finalized_at >= run.finished_at



def test_bookkeeping_records_the_outcome_without_moving_the_definitions_change_time(store, runtime):
    job = jobs.create(store, {**SHELL, "name": "kept", "payload_message": "exit 3"})
    defined_at = jobs.get(store, job.id).updated_at
    failing = _queued_run(store, job.id)
    assert execution.execute_and_process(runtime, failing) == runs.RunStatus.ERROR
    after_failure = jobs.get(store, job.id)
    assert (after_failure.last_status, after_failure.consecutive_errors) == ("error", 1)
    jobs.update(store, job.id, {"payload_message": "true"})
    redefined_at = jobs.get(store, job.id).updated_at
    assert redefined_at > defined_at
    assert execution.execute_and_process(runtime, _queued_run(store, job.id)) == runs.RunStatus.OK
    after_success = jobs.get(store, job.id)
    assert (after_success.last_status, after_success.consecutive_errors) == ("ok", 0)
    assert after_success.updated_at == redefined_at


def test_on_postgresql_a_run_no_gate_needs_to_see_is_loaded_and_started_in_one_statement(store, runtime):
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no data-modifying CTE, and no round trip to save")
    free = jobs.create(store, {**SHELL, "name": "free", "payload_message": "true", "overlap_policy": "allow"})
    gated = jobs.create(store, {**SHELL, "name": "gated", "payload_message": "true", "resource_pool": "gpu"})
    free_run, gated_run = _queued_run(store, free.id), _queued_run(store, gated.id)
    loaded = load_run(runtime, free_run)
    assert loaded is not None and loaded.started and runs.get(store, free_run).status == "running"
    assert load_run(runtime, free_run) is None  # a duplicate message finds nothing queued
    loaded = load_run(runtime, gated_run)
    assert loaded is not None and not loaded.started
    assert runs.get(store, gated_run).status == "queued"  # its pool slot is taken by a start of its own


@pytest.mark.parametrize("free_for", ["someone else", "refused"])
def test_a_gate_checks_exactly_the_runs_its_free_condition_does_not_cover(store, runtime, monkeypatch, free_for):
    """A gate's ``check`` is called for a run its ``free`` condition does not hold for, and only then; the
    same condition decides the one-statement start on PostgreSQL."""
    blocked_names: list[str] = []

    def refuse(rt, job_row, run_row, now):
        blocked_names.append(job_row.name)
        return gates.Blocked("closed for the test")

    closed = gates.Gate("test_closed", Equals(job("name"), free_for), refuse)
    monkeypatch.setattr(gates, "GATES", (*gates.GATES, closed))
    job_row = jobs.create(store, {**SHELL, "name": "refused", "payload_message": "true", "overlap_policy": "allow"})
    run_id = _queued_run(store, job_row.id)
    run = runs.get(store, run_id)
    status = execution.execute_and_process(runtime, run_id)
    run = runs.get(store, run_id)
    if free_for == "refused":
        assert (status, run.status, blocked_names) == (runs.RunStatus.OK, "ok", [])
    else:
        assert status == runs.RunStatus.SKIPPED
        assert (run.status, run.skip_reason, blocked_names) == ("skipped", "closed for the test", ["refused"])
