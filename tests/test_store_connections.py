"""The Store's connection handling: reads and single statements in autocommit on PostgreSQL, and the
idle ping that replaced a ping per checkout (a pooled connection whose server side died is replaced)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from clawsched.sched import jobs
from clawsched.sched.store import engine as db
from clawsched.sched.store.models import JOBS

SPEC = {"name": "conn", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000,
        "schedule_cron": "0 0 1 1 *"}


def test_reads_single_statements_and_transactions_share_the_pool_cleanly(store):
    job = jobs.create(store, SPEC)
    for _ in range(3):  # every mode, repeatedly, on the same pooled connection(s)
        with store.read_engine.connect() as conn:
            assert conn.execute(select(JOBS.c.name).where(JOBS.c.id == job.id)).scalar() == "conn"
        with store.atomic() as conn:
            conn.execute(JOBS.update().where(JOBS.c.id == job.id).values(description="atomic"))
        with store.session() as s:
            s.execute(JOBS.update().where(JOBS.c.id == job.id).values(name="renamed"))
        with store.read() as s:
            assert s.execute(select(JOBS.c.name, JOBS.c.description).where(JOBS.c.id == job.id)).one() == (
                "renamed", "atomic")
        with store.session() as s:
            s.execute(JOBS.update().where(JOBS.c.id == job.id).values(name="conn"))


def test_a_failed_transaction_writes_nothing_in_either_mode(store):
    job = jobs.create(store, SPEC)
    with pytest.raises(RuntimeError), store.session() as s:
        s.execute(JOBS.update().where(JOBS.c.id == job.id).values(description="half"))
        raise RuntimeError("abort")
    with store.read() as s:
        assert s.execute(select(JOBS.c.description).where(JOBS.c.id == job.id)).scalar() is None


def test_an_idle_connection_whose_server_side_died_is_replaced(store, monkeypatch):
    if store.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server side to lose")
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every checkout counts as idle: always ping
    with store.read_engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with db.Store(store.url).engine.connect() as killer:  # another pool, so ours keeps the victim
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.commit()
    with store.read_engine.connect() as conn:  # the ping finds it dead; the pool connects afresh
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    with store.atomic() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
