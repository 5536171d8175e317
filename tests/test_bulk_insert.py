"""The store's bulk load (``COPY`` on PostgreSQL, ``executemany`` on SQLite) stores what a Core insert of
the same rows stores, column by column, so the bench's million jobs are jobs the beat treats like any other."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clawsched.sched import specs
from clawsched.sched.store import claims
from clawsched.sched.store.bulk import insert_rows
from clawsched.sched.store.models import new_id, utcnow
from clawsched.sched.store.tables import JOBS

SPEC = {"name": "bulk", "session_target": "shell", "payload_message": "echo hi", "schedule_kind": "every",
        "schedule_every_ms": 60_000, "run_timeout_ms": 60_000, "env": {"A": "1"}, "overlap_policy": "allow",
        "delivery_mode": "none"}


def _read(store, ids):
    with store.read() as s:
        rows = s.execute(select(JOBS).where(JOBS.c.id.in_(ids)).order_by(JOBS.c.name)).mappings().all()
    return [dict(r) for r in rows]


def test_bulk_rows_read_back_as_a_core_insert_of_the_same_rows(store):
    columns = specs.parse_job(SPEC).columns()
    now = utcnow()
    due = now + timedelta(minutes=5)
    common = {**columns, "created_at": now, "updated_at": now}
    ours = [{"id": new_id(), "name": f"bulk {i}", "next_run_at": due + timedelta(seconds=i)} for i in range(3)]
    core = [{**common, "id": new_id(), "name": f"core {i}", "next_run_at": due + timedelta(seconds=i)}
            for i in range(3)]

    assert insert_rows(store, JOBS, common, iter(ours)) == 3
    with store.session() as s:
        s.execute(JOBS.insert(), core)

    loaded, reference = _read(store, [r["id"] for r in ours]), _read(store, [r["id"] for r in core])
    assert len(loaded) == 3
    for got, want in zip(loaded, reference, strict=True):
        assert {k: v for k, v in got.items() if k not in ("id", "name")} == \
               {k: v for k, v in want.items() if k not in ("id", "name")}
    assert loaded[0]["env"] == {"A": "1"} and loaded[0]["enabled"] is True
    assert loaded[1]["next_run_at"] == due + timedelta(seconds=1)
    # and the beat claims them: due, they are fired like jobs written any other way
    claimed = claims.claim_due_fires(store, due + timedelta(seconds=10))
    assert {c.job_name for c in claimed} >= {"bulk 0", "bulk 1", "bulk 2"}


def test_an_empty_load_writes_nothing(store):
    assert insert_rows(store, JOBS, {"name": "x"}, []) == 0


def test_the_primary_key_must_come_with_each_row_and_names_must_be_columns(store):
    columns = specs.parse_job(SPEC).columns()
    with pytest.raises(ValueError, match="jobs.id is the primary key"):
        insert_rows(store, JOBS, columns, [{"name": "no id"}])
    with pytest.raises(ValueError, match=r"no column\(s\) \['colour'\]"):
        insert_rows(store, JOBS, {**columns, "colour": "red"}, [{"id": new_id()}])
