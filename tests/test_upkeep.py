"""Maintenance passes over run history: finalising runs whose post-run pipeline never ran, and pruning
runs past the retention, at the size a long-lived installation reaches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select

from clawsched.sched import jobs, runs
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import upkeep
from clawsched.sched.store.models import RUNS, Run, new_id, utcnow
from clawsched.workers.upkeep import finalize

SHELL = {"session_target": "shell", "run_timeout_ms": 5000, "schedule_cron": "0 0 1 1 *", "payload_message": "true"}


@pytest.fixture
def runtime(settings: Any) -> Any:
    rt = Runtime(settings)
    yield rt
    rt.close()


def _history(store: Any, job_id: str, count: int, *, age: timedelta, finalized: bool = True) -> list[str]:
    """``count`` finished ``ok`` runs of ``job_id``, created and finished ``age`` ago."""
    then = utcnow() - age
    ids = [new_id() for _ in range(count)]
    with store.engine.begin() as conn:
        conn.execute(insert(RUNS), [{"id": i, "job_id": job_id, "status": "ok", "trigger": "manual",
                                     "created_at": then, "started_at": then, "finished_at": then,
                                     "finalized_at": then if finalized else None} for i in ids])
    return ids


def _plan(store: Any, sql: str) -> str:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            return "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql).all())


def test_a_finished_run_whose_pipeline_never_ran_is_finalised_and_triggers_its_child(store, runtime):
    parent = jobs.create(store, {**SHELL, "name": "parent"})
    child = jobs.create(store, {"session_target": "shell", "run_timeout_ms": 5000, "payload_message": "true",
                                "name": "child", "parent_id": parent.id, "trigger_on": "success"})
    _history(store, parent.id, 3_000, age=timedelta(hours=1))  # a history of finalised runs
    (orphan,) = _history(store, parent.id, 1, age=timedelta(minutes=5), finalized=False)  # the worker died
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")

    assert finalize.finalize_orphans(runtime, None, utcnow()) == 1

    assert runs.get(store, orphan).finalized_at is not None
    (child_run,) = runs.for_job(store, child.id)
    assert child_run.triggered_by_run == orphan
    assert finalize.finalize_orphans(runtime, None, utcnow()) == 0, "each orphan is finalised once"


def test_the_orphan_pass_reads_only_unfinalised_runs_not_the_history(store):
    job = jobs.create(store, {**SHELL, "name": "busy"})
    _history(store, job.id, 3_000, age=timedelta(hours=1))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    cutoff = (utcnow() - timedelta(seconds=30)).strftime("%Y-%m-%d %H:%M:%S")
    terminal = ", ".join(f"'{s}'" for s in runs.TERMINAL_VALUES)
    plan = _plan(store, f"SELECT id FROM runs WHERE finalized_at IS NULL AND finished_at IS NOT NULL "
                        f"AND finished_at < '{cutoff}' AND status IN ({terminal}) ORDER BY finished_at LIMIT 200")
    assert "ix_runs_unfinalized" in plan, plan


def test_pruning_removes_every_run_past_retention_in_one_pass(store, runtime):
    job = jobs.create(store, {**SHELL, "name": "chatty"})
    old = _history(store, job.id, 2_500, age=timedelta(days=100))
    unfinished = _history(store, job.id, 1, age=timedelta(days=100), finalized=False)
    recent = _history(store, job.id, 10, age=timedelta(days=1))

    removed = upkeep.prune_runs(runtime.store, created_before=utcnow() - timedelta(days=90), batch=1_000)

    assert removed == len(old), "one pass prunes batch after batch, not one batch"
    with store.read() as s:
        left = set(s.scalars(select(Run.id).where(Run.job_id == job.id)))
        assert left == set(unfinished + recent), "runs not past retention, or not finalised, stay"
        assert s.scalar(select(func.count()).select_from(Run)) == len(left)


def test_pruning_stops_at_its_time_budget_and_the_next_pass_goes_on(store, runtime):
    job = jobs.create(store, {**SHELL, "name": "chatty"})
    _history(store, job.id, 300, age=timedelta(days=100))
    first = upkeep.prune_runs(runtime.store, created_before=utcnow() - timedelta(days=90), batch=100, budget_s=0)
    assert first == 100, "a spent budget ends the pass after the batch in hand"
    assert upkeep.prune_runs(runtime.store, created_before=utcnow() - timedelta(days=90), batch=100) == 200


def test_the_deadline_pass_costs_what_it_checks_not_the_queued_backlog(store):
    """With 3 000 runs queued behind jobs that have no start deadline, the pass reads no run at all (it
    walked every queued run before); a job with a deadline still has its waiting run found."""
    plain = jobs.create(store, {**SHELL, "name": "plain"}).id
    with store.engine.begin() as conn:
        conn.execute(insert(RUNS), [{"id": new_id(), "job_id": plain, "status": "queued", "trigger": "manual",
                                     "created_at": utcnow()} for _ in range(3_000)])
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert upkeep.waiting_with_deadlines(store) == []
    assert statements and not [s for s in statements if "runs" in s.lower()], statements

    deadlined = jobs.create(store, {**SHELL, "name": "deadlined", "schedule_to_start_s": 30}).id
    waiting = jobs.run_now(store, deadlined)
    found = upkeep.waiting_with_deadlines(store)
    assert [(job.id, run.id) for job, run in found] == [(deadlined, waiting)]
