"""``direct``: the worker's per-run statements on a thread's own DBAPI connection. What goes in and
comes out must be what Core sends and returns; a failed transaction writes nothing; a dead connection
is replaced; a forked child never uses its parent's connection."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text, update

from clawsched.sched import jobs
from clawsched.sched.store import dbapi
from clawsched.sched.store import engine as db
from clawsched.sched.store.models import JOBS, Job, detached

SPEC = {"name": "direct", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000,
        "schedule_cron": "0 0 1 1 *", "env": {"A": "1"}}
BY_ID = select(JOBS).where(JOBS.c.id == bindparam("b_id"))
DESCRIBE = update(JOBS).where(JOBS.c.id == bindparam("b_id")).values(
    description=bindparam("v_description"), next_run_at=bindparam("v_next"), updated_at=JOBS.c.updated_at)


def test_rows_come_back_as_core_returns_them(store):
    job = jobs.create(store, SPEC)
    with store.engine.connect() as conn:
        core = dict(conn.execute(BY_ID, {"b_id": job.id}).one()._mapping)
    direct = store.direct.first(BY_ID, {"b_id": job.id})
    assert direct == core
    assert direct["env"] == {"A": "1"} and direct["enabled"] is True  # JSON and booleans decoded on SQLite too
    assert direct["created_at"].tzinfo is UTC
    assert store.direct.first(BY_ID, {"b_id": "nope"}) is None


def test_parameters_go_through_their_types(store):
    job = jobs.create(store, SPEC)
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert store.direct.run(DESCRIBE, {"b_id": job.id, "v_description": "d", "v_next": when}) == 1
    with store.read() as s:
        row = s.execute(select(JOBS.c.description, JOBS.c.next_run_at).where(JOBS.c.id == job.id)).one()
    assert tuple(row) == ("d", when)
    with pytest.raises(ValueError, match="naive datetime"):  # UTCDateTime's own check ran
        store.direct.run(DESCRIBE, {"b_id": job.id, "v_description": "x", "v_next": datetime(2030, 1, 1)})


def test_a_statement_whose_columns_need_python_side_defaults_is_refused(store):
    onupdate = update(JOBS).where(JOBS.c.id == bindparam("b_id")).values(description="x")  # updated_at: onupdate
    with pytest.raises(ValueError, match=r"\['updated_at'\].*give them values"):
        store.direct.run(onupdate, {"b_id": "j"})


def test_a_failed_transaction_writes_nothing_and_the_connection_goes_on(store):
    job = jobs.create(store, SPEC)
    with pytest.raises(RuntimeError), store.direct.transaction() as tx:
        assert tx.run(DESCRIBE, {"b_id": job.id, "v_description": "half", "v_next": None}) == 1
        raise RuntimeError("abort")
    assert store.direct.first(BY_ID, {"b_id": job.id})["description"] is None
    with store.direct.transaction() as tx:
        tx.run(DESCRIBE, {"b_id": job.id, "v_description": "whole", "v_next": None})
        assert tx.first(BY_ID, {"b_id": job.id})["description"] == "whole"
    with store.read() as s:  # committed: another connection sees it
        assert s.scalar(select(JOBS.c.description).where(JOBS.c.id == job.id)) == "whole"


def test_a_connection_whose_server_side_died_is_replaced(store, monkeypatch):
    if store.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server side to lose")
    pid_query = select(text("pg_backend_pid()"))
    pid = store.direct.first_values(pid_query, {})[0]
    with db.Store(store.url).engine.connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.commit()
    monkeypatch.setattr(dbapi, "IDLE_PING_S", 0.0)  # idle: pinged, found dead, replaced before use
    fresh = store.direct.first_values(pid_query, {})[0]
    assert fresh != pid
    monkeypatch.setattr(dbapi, "IDLE_PING_S", 3600.0)  # trusted without a ping: the statement fails once
    with db.Store(store.url).engine.connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": fresh})
        killer.commit()
    with pytest.raises(Exception, match="(?i)terminat|closed|connection"):
        store.direct.first_values(pid_query, {})
    assert store.direct.first_values(pid_query, {})[0] not in (pid, fresh)


def _in_child(job_id: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Runs in the forked child, with the parent's Store (and its thread-local connection) inherited."""
    queue.put(_parent_store.direct.first(BY_ID, {"b_id": job_id})["name"])


_parent_store: db.Store


def test_a_forked_child_opens_its_own_connection(store):
    global _parent_store
    job = jobs.create(store, SPEC)
    assert store.direct.first(BY_ID, {"b_id": job.id})["name"] == "direct"
    parent_conn = store.direct._local.conn
    _parent_store = store
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_in_child, args=(job.id, queue))
    child.start()
    name = queue.get(timeout=30)
    child.join(30)
    assert (name, child.exitcode) == ("direct", 0)
    assert store.direct._local.conn is parent_conn  # the parent's connection was left alone ...
    assert store.direct.first(BY_ID, {"b_id": job.id})["name"] == "direct"  # ... and still works


def test_detached_rows_work_in_a_fresh_process_before_any_orm_use():
    code = ("from clawsched.sched.store.models import Job, detached\n"
            "job = detached(Job, {'id': 'j', 'enabled': True, 'name': 'n'})\n"
            "job.name = 'renamed'\n"
            "print(job.enabled, job.name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "renamed"], out.stderr


def test_detached_rows_are_transient():
    job = detached(Job, {"id": "j", "name": "n"})
    from sqlalchemy import inspect

    assert inspect(job).transient and job.name == "n" and job.id == "j"
