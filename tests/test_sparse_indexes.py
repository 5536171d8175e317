"""Lookups by a key that most rows leave NULL (a job's parent, a run's parent run, a pool, a thread) use
their index once the database has statistics, so a run's cost does not grow with the jobs defined
(migration 0005: those indexes hold only the rows that have a key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, insert, update

from clawsched.sched import jobs, specs
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import migrations
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import JOBS, MESSAGES, RUNS, new_id, utcnow
from clawsched.workers import execution

SPEC = {"name": "plain", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000,
        "schedule_cron": "0 0 1 1 *"}

LOOKUPS = {  # the lookups the code makes, by the index each must use
    "ix_jobs_parent_id": "SELECT EXISTS (SELECT 1 FROM jobs AS child WHERE child.parent_id = {p})",
    "ix_jobs_resource_pool": "SELECT id FROM jobs WHERE resource_pool = {p}",
    "ix_runs_triggered_by_run": "SELECT id FROM runs WHERE triggered_by_run = {p}",
    "ix_messages_reply_to": "SELECT id FROM messages WHERE reply_to = {p}",
}


def _fill(store: Store, count: int) -> str:
    """``count`` jobs with no parent and no pool, one run and one message each, so every sparse key is NULL
    (an installation without chains, pools or threads), then fresh statistics. Returns a job id."""
    columns = specs.parse_job(SPEC).columns()
    now = utcnow()
    ids = [new_id() for _ in range(count)]
    with store.engine.begin() as conn:
        conn.execute(insert(JOBS), [{**columns, "id": i, "name": f"j{n}", "created_at": now, "updated_at": now}
                                    for n, i in enumerate(ids)])
        conn.execute(insert(RUNS), [{"id": new_id(), "job_id": i, "status": "ok", "trigger": "manual",
                                     "created_at": now} for i in ids])
        conn.execute(insert(MESSAGES), [{"id": new_id(), "from_agent": "a", "to_agent": "b", "body": "hi",
                                         "created_at": now} for _ in ids])
        conn.exec_driver_sql("ANALYZE")
    return ids[1]


def _plan(store: Store, sql: str) -> str:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql.format(p="?"), ("x",)).all()
            return "\n".join(str(r[-1]) for r in rows)
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql.format(p="%(p)s"), {"p": "x"}))


def test_lookups_by_a_sparse_key_use_its_index_once_statistics_exist(store):
    _fill(store, 3_000)
    for index, sql in LOOKUPS.items():
        plan = _plan(store, sql)
        assert index in plan, f"{sql} does not use {index}:\n{plan}"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_run_costs_the_worker_the_same_sqlite_work_with_20_or_2000_jobs(settings, tmp_path: Path):
    """SQLite virtual machine instructions for one run on the worker's path (load, start, finish,
    finalise): a cost that does not depend on the machine or its load."""
    steps: dict[int, int] = {}
    for count in (20, 2_000):
        store = Store(f"sqlite:///{tmp_path / f'{count}.db'}")
        migrations.upgrade(store)
        job_id = _fill(store, count)
        run_id = jobs.run_now(store, job_id)
        with store.engine.begin() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="queued"))
        counted = [0]

        def count_steps(dbapi_conn, _record, counted=counted):
            def step() -> int:
                counted[0] += 1
                return 0

            dbapi_conn.set_progress_handler(step, 1)

        store.dispose()
        rt = Runtime(settings.with_(database_url=store.url, post_run="inline"))
        event.listen(rt.store.engine, "connect", count_steps)  # before the worker makes its connections
        try:
            assert execution.execute_and_process(rt, run_id) == execution.RunStatus.OK
        finally:
            rt.close()
        steps[count] = counted[0]
    # before migration 0005: 629 steps with 20 jobs, 6 569 with 2 000 (the finish scanned the jobs table)
    assert steps[2_000] < steps[20] * 1.25 + 200, steps
