"""Early finalisation: a run whose post-run pipeline has nothing to do is finalised by the statement that
records its outcome; anything that might have work (children, a plugin's step) still gets the pipeline."""

from __future__ import annotations

import pytest

from clawsched.sched import jobs, runs
from clawsched.workers import execution, pipeline


def _queued_run(store, job_id):
    from sqlalchemy import update

    from clawsched.sched.models import RUNS

    run_id = jobs.run_now(store, job_id)
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="queued"))
    return run_id


@pytest.fixture
def runtime(settings):
    from clawsched.workers.runtime import Runtime

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
    loaded = execution._load(runtime, run_id)
    assert loaded is not None
    child = jobs.create(store, {"session_target": "shell", "run_timeout_ms": 5000, "name": "late child",
                                "payload_message": "true", "parent_id": parent.id, "trigger_on": "success"})
    job, run = loaded
    assert runs.start(store, run_id, hostname="h", pid=1)
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
