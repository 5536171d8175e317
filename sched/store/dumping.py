"""Every row of every table, read in one snapshot and written into an empty database of either dialect.

The SQL side of ``clawsched backup`` and ``restore`` (``sched/backups.py`` holds the file format). Rows go
out table by table in foreign-key order, each table streamed (a gigabyte of offloaded output is never held
whole), all from one snapshot: ``REPEATABLE READ`` on PostgreSQL, one read transaction on SQLite (WAL keeps
it a snapshot while writers go on). They come back in the same order inside one transaction, so a restore
that fails anywhere leaves the target as empty as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update

from clawsched.sched.store.engine import Store
from clawsched.sched.store.tables import METADATA

TABLES: tuple[Table, ...] = tuple(METADATA.sorted_tables)  # parents before children
BATCH = 500


@contextmanager
def snapshot(store: Store) -> Iterator[Connection]:
    """A read-only connection whose every statement sees the database as of its first one."""
    if store.dialect == "postgresql":
        engine = store.engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    else:
        engine = store.read_engine
    with engine.connect() as conn, conn.begin():
        yield conn


def rows(conn: Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    """The table's rows in primary-key order, streamed."""
    query = select(*table.c).order_by(*table.primary_key.columns)
    for row in conn.execution_options(yield_per=BATCH).execute(query):
        yield tuple(row)


def counts(store: Store) -> dict[str, int]:
    """Rows per table, for the emptiness check and the report."""
    with store.read() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


def load(store: Store, tables: Iterable[tuple[Table, Iterable[dict[str, Any]]]],
         check: Callable[[Connection], None] = lambda _conn: None) -> None:
    """Insert each table's rows, in the order given, in one transaction; ``check`` reads them back on the
    same connection before the commit (a raise rolls everything back). PostgreSQL's serial counters are
    moved past the ids loaded."""
    with store.engine.begin() as conn:
        for table, found in tables:
            _load_table(conn, table, found)
        check(conn)
        if store.dialect == "postgresql":
            _advance_serials(conn)


def _load_table(conn: Connection, table: Table, found: Iterable[dict[str, Any]]) -> None:
    """Batches of inserts. A column naming a row of its own table (``jobs.parent_id``) is written after
    the whole table is in: a child may come before its parent in key order."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    own += [c.name for c in table.c if c.onupdate is not None] if own else []  # kept, not stamped anew
    key = [c.name for c in table.primary_key.columns]
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for row in found:
        if any(row.get(fk.parent.name) is not None for fk in table.foreign_keys if fk.column.table is table):
            later.append({**{f"k_{k}": row[k] for k in key}, **{f"v_{n}": row[n] for n in own}})
            row = {**row, **{fk.parent.name: None for fk in table.foreign_keys if fk.column.table is table}}
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)
    if later:
        statement = (update(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in key))
                     .values({n: bindparam(f"v_{n}") for n in own}))
        conn.execute(statement, later)


def _advance_serials(conn: Connection) -> None:
    for table in TABLES:
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"))
