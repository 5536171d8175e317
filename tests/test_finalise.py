"""Early finalisation: a run whose post-run pipeline has nothing to do is finalised by the statement that
records its outcome; anything that might have work (children, a plugin's step) still gets the pipeline."""

from __future__ import annotations

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.store.models import utcnow
from clawsched.workers import execution, pipeline


def _queued_run(store, job_id):
    from sqlalchemy import update

    from clawsched.sched.store.models import RUNS

    run_id = jobs.run_now(store, job_id)
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="queued"))
    return run_id


@pytest.fixture
def runtime(settings):
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
    loaded = execution._load(runtime, run_id, "w", utcnow())
    assert loaded is not None
    child = jobs.create(store, {"session_target": "shell", "run_timeout_ms": 5000, "name": "late child",
                                "payload_message": "true", "parent_id": parent.id, "trigger_on": "success"})
    job, run, started = loaded
    assert started or runs.start(store, run_id, hostname="h", pid=1)
    run.started_at = runs.get(store, run_id).started_at
    done = runs.finish_loaded(store, job, run, runs.Outcome(runs.RunStatus.OK), settled=pipeline.idle)
    assert done is not None and not done.finalized and runs.get(store, run_id).finalized_at is None
    assert pipeline.run_steps(runtime, done.job, done.run)
    (child_run,) = runs.for_job(store, child.id)
    assert child_run.triggered_by_run == run_id
    assert runs.get(store, run_id).finalized_at is not None


def test_a_step_without_an_idle_predicate_always_runs(store, runtime):
    """A plugin's step that does not say when it is idle keeps every run from early finalisation."""
    seen: list[str] = []
    pipeline.step("test_recorder", order=999)(lambda rt, job, run: seen.append(run.id))
    try:
        job = jobs.create(store, {**SHELL, "name": "watched", "payload_message": "true"})
        run_id = _queued_run(store, job.id)
        assert execution.execute_and_process(runtime, run_id) == runs.RunStatus.OK
    finally:
        pipeline.STEPS[:] = [s for s in pipeline.STEPS if s.name != "test_recorder"]
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
    _, _, started = execution._load(runtime, free_run, "w", utcnow())
    assert started and runs.get(store, free_run).status == "running"
    assert execution._load(runtime, free_run, "w", utcnow()) is None  # a duplicate message finds nothing queued
    _, _, started = execution._load(runtime, gated_run, "w", utcnow())
    assert not started and runs.get(store, gated_run).status == "queued"  # the pool's lease is taken first


@pytest.mark.parametrize("free", [False, True])
def test_a_gate_is_honoured_whether_or_not_it_declares_when_it_is_free(store, runtime, free):
    """A plugin gate without a ``free`` condition sends every run the long way; one with it is skipped
    only for the runs it declares free."""
    from sqlalchemy import literal

    blocked_names: list[str] = []

    def refuse(rt, job, run, leases):
        blocked_names.append(job.name)
        return "closed for the test"

    execution.gate("test_closed", free=literal(False) if free else None)(refuse)
    try:
        job = jobs.create(store, {**SHELL, "name": "refused", "payload_message": "true", "overlap_policy": "allow"})
        run_id = _queued_run(store, job.id)
        assert execution.execute_and_process(runtime, run_id) == runs.RunStatus.SKIPPED
    finally:
        execution.GATES[:] = [g for g in execution.GATES if g.name != "test_closed"]
        execution._ONE_TRIP.clear()
    run = runs.get(store, run_id)
    assert (run.status, run.skip_reason, blocked_names) == ("skipped", "closed for the test", ["refused"])
