"""Giving a job a new id without losing anything: its row, runs, approvals, messages, ledger entries,
dispatches and children move to the new id in the caller's transaction.

``clawsched apply --adopt-by name`` uses it to take a job made with ``jobs add`` under a manifest's
stable id; the peer deletes the old job (and its history) instead. Every column that names a job is
found from the schema, so a table added later is moved too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, insert, select, update

from clawsched.sched.store.tables import JOBS, METADATA

_JOB_COLUMNS = ("job_id", "watcher_job_id", "watchdog_job_id")


def _references() -> list[tuple[Table, str]]:
    found = [(JOBS, "parent_id")]
    for table in METADATA.sorted_tables:
        found += [(table, c.name) for c in table.columns if c.name in _JOB_COLUMNS]
    return found


def rekey_job(s: Any, old_id: str, new_id: str) -> None:
    """Copy job ``old_id`` to ``new_id``, point every reference at the copy, delete the original."""
    row = s.execute(select(JOBS).where(JOBS.c.id == old_id)).mappings().one()
    s.execute(insert(JOBS).values({**row, "id": new_id}))
    for table, column in _references():
        s.execute(update(table).where(table.c[column] == old_id).values({column: new_id}))
    s.execute(delete(JOBS).where(JOBS.c.id == old_id))
