"""overlap_policy is enforced by the database: the statement that starts a run fails when another run of
a skip/queue job is running (``uq_runs_one_running``), however many workers try at the same instant and
whatever happens to Redis."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import RunOverlap
from clawsched.sched.outcomes import Outcome
from clawsched.sched.store import starting
from clawsched.sched.store.models import RUNS
from clawsched.workers import execution
from tests.support.lifecycle import finish_run, load_run, start_run
from tests.support.waiting import wait_for

SHELL = {"session_target": "shell", "run_timeout_ms": 10_000, "schedule_cron": "0 0 1 1 *"}


def _queued(store, job_id: str, count: int) -> list[str]:
    ids = [jobs.run_now(store, job_id) for _ in range(count)]
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id.in_(ids)).values(status="queued"))
    return ids


def _start_all_at_once(store, run_ids: list[str]) -> dict[str, object]:
    """Each run started by its own thread (its own connection), all released by one barrier."""
    barrier = threading.Barrier(len(run_ids))
    results: dict[str, object] = {}

    def start(run_id: str) -> None:
        barrier.wait()
        try:
            results[run_id] = start_run(store, run_id)
        except RunOverlap as exc:
            results[run_id] = exc

    threads = [threading.Thread(target=start, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.parametrize("policy", ["skip", "queue"])
def test_of_many_simultaneous_starts_of_one_job_exactly_one_wins(store, policy):
    job = jobs.create(store, {**SHELL, "name": policy, "payload_message": "true", "overlap_policy": policy})
    results = _start_all_at_once(store, _queued(store, job.id, 8))
    winners = [r for r, v in results.items() if v is True]
    assert len(results) == 8 and len(winners) == 1, results
    assert all(isinstance(v, RunOverlap) for r, v in results.items() if r not in winners)
    assert starting.running_exclusive(store, job.id) == winners[0]
    assert {runs.get(store, r).status for r in results if r not in winners} == {"queued"}  # left as they were


def test_allow_starts_them_all(store):
    job = jobs.create(store, {**SHELL, "name": "allow", "payload_message": "true", "overlap_policy": "allow"})
    results = _start_all_at_once(store, _queued(store, job.id, 4))
    assert list(results.values()) == [True] * 4
    assert starting.running_exclusive(store, job.id) is None


def test_a_finished_run_lets_the_next_one_start_and_other_jobs_are_never_held(store):
    job = jobs.create(store, {**SHELL, "name": "one at a time", "payload_message": "true"})
    other = jobs.create(store, {**SHELL, "name": "another job", "payload_message": "true"})
    first, second = _queued(store, job.id, 2)
    (elsewhere,) = _queued(store, other.id, 1)
    assert start_run(store, first)
    with pytest.raises(RunOverlap):
        start_run(store, second)
    assert start_run(store, elsewhere)
    assert finish_run(store, first, Outcome(runs.RunStatus.OK)) is not None
    assert start_run(store, second)


def test_skip_records_the_run_it_found_running(store, settings):
    from clawsched.sched.runtime import Runtime

    job = jobs.create(store, {**SHELL, "name": "busy", "payload_message": "true"})
    first, second = _queued(store, job.id, 2)
    assert start_run(store, first)
    rt = Runtime(settings)
    try:
        assert execution.execute_and_process(rt, second) == runs.RunStatus.SKIPPED
    finally:
        rt.close()
    skipped = runs.get(store, second)
    assert skipped.status == "skipped" and f"run {first}" in skipped.skip_reason
    assert "overlap_policy=skip" in skipped.skip_reason


def test_queue_waits_for_the_running_run_then_runs(store, redis, worker, beat, tmp_path):
    gate = tmp_path / "release"
    job = jobs.create(store, {**SHELL, "name": "queued", "overlap_policy": "queue",
                              "payload_message": f"while [ ! -e {gate} ]; do sleep 0.05; done; echo done"})
    settings = beat.service.app.clawsched_settings
    first = jobs.run_now(store, job.id)
    notify(redis, settings, "test")
    wait_for(lambda: runs.get(store, first).status == "running", timeout=10)
    second = jobs.run_now(store, job.id)
    notify(redis, settings, "test")
    waiting = wait_for(lambda: (r := runs.get(store, second)).skip_reason and r, timeout=10)
    assert waiting.status in ("pending", "queued") and "waiting: overlap" in waiting.skip_reason
    gate.touch()
    done = wait_for(lambda: (r := runs.get(store, second)).status == "ok" and r, timeout=15)
    assert done.started_at >= runs.get(store, first).finished_at  # never both at once


def test_on_postgresql_a_skip_job_is_started_in_one_statement_unless_it_is_running(store, settings):
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no data-modifying CTE, and no round trip to save")
    from clawsched.sched.runtime import Runtime

    job = jobs.create(store, {**SHELL, "name": "skip", "payload_message": "true", "overlap_policy": "skip"})
    first, second = _queued(store, job.id, 2)
    rt = Runtime(settings)
    try:
        loaded = load_run(rt, first)
        assert loaded is not None and loaded.started and runs.get(store, first).status == "running"
        loaded = load_run(rt, second)  # refused by the index: loaded, not started
        assert loaded is not None and loaded.started is False and runs.get(store, second).status == "queued"
    finally:
        rt.close()
