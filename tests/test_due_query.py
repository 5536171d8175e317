"""The beat's due queries walk indexes: their cost follows what is due, not how many jobs exist."""

from __future__ import annotations

from sqlalchemy import select

from clawsched.sched.states import RunStatus
from clawsched.sched.store.models import Job, Run, utcnow


def plan(store, stmt) -> str:
    compiled = stmt.compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            return "\n".join(str(r[-1]) for r in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")  # tiny test tables: ask whether an index path exists
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}").all())


def test_due_jobs_query_uses_the_due_index(store):
    now = utcnow()
    stmt = (select(Job.id, Job.next_run_at).where(Job.enabled.is_(True), Job.next_run_at <= now)
            .order_by(Job.next_run_at).limit(500))
    text = plan(store, stmt)
    assert "ix_jobs_due" in text, text
    assert "TEMP B-TREE" not in text.upper() and "Sort" not in text, text  # ordered by the index itself


def test_due_runs_query_uses_the_status_index(store):
    stmt = (select(Run.id).where(Run.status == RunStatus.PENDING.value, Run.not_before <= utcnow())
            .order_by(Run.not_before).limit(500))
    text = plan(store, stmt)
    assert "ix_runs_status_due" in text, text
