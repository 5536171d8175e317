"""The writes of an import: a job with its history, in one transaction, and records kept by their keys.

``sched.importing`` decides what a source's rows mean; these verbs only put them in the store. Each takes
the open session of its caller's transaction, so a job, its runs, its approvals and its ledger entries are
committed together or not at all. Every write is keyed (a job's id, a run's id, an alias's name, ...):
rows already there are compared, not written twice, which is what makes a second import change nothing.
Runs are inserted with one ``executemany`` per batch (the bench's ``import`` figure).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select, text, update
from sqlalchemy.orm import Session

from clawsched.sched.store.tables import (
    AGENTS,
    APPROVALS,
    DELIVERY_ALIASES,
    IDEMPOTENCY_LEDGER,
    JOBS,
    MESSAGES,
    RUNS,
)

TABLES: dict[str, Table] = {"runs": RUNS, "approvals": APPROVALS, "idempotency_ledger": IDEMPOTENCY_LEDGER,
                            "delivery_aliases": DELIVERY_ALIASES, "agents": AGENTS, "messages": MESSAGES}
BATCH = 5000  # rows per executemany: bounded memory, few round trips


@dataclass
class Counts:
    """What keyed writes did: rows added, rows changed, rows already as given."""

    added: int = 0
    changed: int = 0
    same: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.added += other.added
        self.changed += other.changed
        self.same += other.same
        return self


def job_row(s: Session, job_id: str) -> dict[str, Any] | None:
    """The stored job's columns, or None."""
    found = s.execute(select(JOBS).where(JOBS.c.id == job_id)).mappings().first()
    return dict(found) if found else None


def insert_job(s: Session, columns: Mapping[str, Any]) -> None:
    s.execute(JOBS.insert().values(**columns))


def update_job(s: Session, job_id: str, columns: Mapping[str, Any]) -> None:
    s.execute(update(JOBS).where(JOBS.c.id == job_id).values(**columns))


def keep(s: Session, table_name: str, rows: Sequence[Mapping[str, Any]], *, compare: bool = True,
         new: bool = False) -> Counts:
    """Insert the rows whose key is not stored; with ``compare``, rewrite stored rows that differ.

    A table's key is its primary key (one column). Without ``compare`` a stored row is left as it is (a
    finished run is history: the source cannot have changed it). ``new`` says none can be stored yet (the
    runs of a job just inserted): nothing is looked up, and a key taken elsewhere fails the transaction.
    """
    table = TABLES[table_name]
    key = next(iter(table.primary_key.columns))
    counts = Counts()
    with bulk(s, len(rows)):
        for start in range(0, len(rows), BATCH):
            given = rows[start:start + BATCH]
            batch = [whole_row(table, r) for r in given]
            stored = {} if new else _stored(s, table, key.name, [r[key.name] for r in batch], compare)
            fresh = [r for r in batch if r[key.name] not in stored]
            if fresh:
                s.execute(table.insert(), fresh)
            counts.added += len(fresh)
            for row, source in zip(batch, given, strict=True):
                old = stored.get(row[key.name])
                if old is None:
                    continue
                # only what the source says is compared: a default filled in here is not a change
                if compare and any(old.get(k) != row[k] for k, v in source.items() if v is not None):
                    s.execute(update(table).where(key == row[key.name]).values(**{k: row[k] for k in source}))
                    counts.changed += 1
                else:
                    counts.same += 1
    return counts


def whole_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of ``table`` given (an ``executemany`` binds the same keys for each row): a column left
    out, or null where it may not be, takes its default."""
    out = {}
    for key, default, nullable in _defaults(table):
        value = row.get(key)
        if value is None and default is not None and (not nullable or key not in row):
            value = default(None) if callable(default) else default
        out[key] = value
    return out


@functools.cache
def _defaults(table: Table) -> tuple[tuple[str, Any, bool], ...]:
    return tuple((c.key, c.default.arg if c.default is not None else None,  # type: ignore[attr-defined]
                  bool(c.nullable)) for c in table.columns)


@contextmanager
def bulk(s: Session, rows: int) -> Iterator[None]:
    """Room for a big history: on SQLite, a page cache of 128 MB for the importing connection while it
    writes (the default 2 MB made each of 100 000 runs re-read the pages of the runs table's ten indexes
    and its search index: 1.4-1.8x the time), set back after."""
    sqlite = rows > BATCH and s.get_bind().dialect.name == "sqlite"
    if sqlite:
        s.execute(text("PRAGMA cache_size = -131072"))
    try:
        yield
    finally:
        if sqlite:
            s.execute(text("PRAGMA cache_size = -2000"))


def _stored(s: Session, table: Table, key: str, keys: Iterable[Any], whole: bool) -> dict[Any, dict[str, Any]]:
    column = table.c[key]
    query = select(table) if whole else select(column)
    found = s.execute(query.where(column.in_(list(keys)))).mappings()
    return {row[key]: dict(row) for row in found}
