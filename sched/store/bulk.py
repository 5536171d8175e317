"""Many rows that share most of their values, into one table in one transaction, at the driver's speed:
``COPY ... FROM STDIN`` on PostgreSQL, one ``executemany`` per batch on SQLite.

For loads of hundreds of thousands of rows (the bench seeds a million jobs). A Core ``insert`` of a
list goes through SQLAlchemy's per-row parameter handling and, on PostgreSQL, through multi-row
``INSERT ... VALUES`` statements the server parses anew: a million jobs of 90 columns took minutes.
Here every shared value and every default is processed once, and each row adds only its own values.

Values go through their column's bind processor, so what is stored is exactly what a Core insert would
store (naive UTC instants, JSON text, booleans). A column given neither in ``common`` nor in the rows
takes its Python-side default, evaluated once for the whole load (so ``created_at`` is one instant);
the primary key has to be given in each row. Nothing is validated here: callers pass rows they built
from a validated spec.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table

from clawsched.sched.store.engine import Store

BATCH = 10_000  # rows per executemany on SQLite (psycopg buffers COPY itself): bounded memory


def insert_rows(store: Store, table: Table, common: Mapping[str, Any], rows: Iterable[Mapping[str, Any]],
                *, batch: int = BATCH) -> int:
    """Insert ``common`` merged with each of ``rows`` (which all give the same keys); returns the count.

    The rows' own values go to a temporary table of those columns alone (``COPY`` or ``executemany``),
    then one ``INSERT ... SELECT`` adds the shared values, bound once: binding 90 values a row cost
    ~60 us a row on SQLite and dumping them ~25 us on PostgreSQL, most of a million-row load.
    """
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return 0
    own = list(first)
    shared = _shared_values(table, store, common, own)
    process = [_processor(table.c[k], store) for k in own]

    def values(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(p(row[k]) if p else row[k] for k, p in zip(own, process, strict=True))

    tuples = map(values, itertools.chain((first,), it))
    with store.engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        try:
            return _load(cur, conn.dialect, table, own, shared, tuples, batch)
        finally:
            cur.close()


def _load(cur: Any, dialect: Any, table: Table, own: Sequence[str], shared: Mapping[str, Any],
          tuples: Iterable[tuple[Any, ...]], batch: int) -> int:
    pg = dialect.name == "postgresql"
    if pg:
        cur.execute(f"CREATE TEMP TABLE bulk_rows ON COMMIT DROP AS SELECT {', '.join(own)} "
                    f"FROM {table.name} WITH NO DATA")
        count = _copy(cur, own, tuples)
    else:
        cur.execute("PRAGMA cache_size = -131072")  # see importing.bulk: room for the indexes
        cur.execute(f"CREATE TEMP TABLE bulk_rows ({', '.join(own)})")
        count = _executemany(cur, own, tuples, batch)
    marks = [f"%s::{table.c[k].type.compile(dialect)}" if pg else "?" for k in shared]
    cur.execute(f"INSERT INTO {table.name} ({', '.join([*own, *shared])}) "
                f"SELECT {', '.join([*own, *marks])} FROM bulk_rows", tuple(shared.values()))
    if not pg:
        cur.execute("DROP TABLE temp.bulk_rows")
        cur.execute("PRAGMA cache_size = -2000")
    return count


def _executemany(cur: Any, own: Sequence[str], tuples: Iterable[tuple[Any, ...]], batch: int) -> int:
    sql = f"INSERT INTO bulk_rows ({', '.join(own)}) VALUES ({', '.join('?' * len(own))})"
    count = 0
    it = iter(tuples)
    while chunk := list(itertools.islice(it, batch)):
        cur.executemany(sql, chunk)
        count += len(chunk)
    return count


def _copy(cur: Any, own: Sequence[str], tuples: Iterable[tuple[Any, ...]]) -> int:
    """psycopg's ``COPY`` in text format: the values are rendered in C and the server parses them in bulk."""
    count = 0
    with cur.copy(f"COPY bulk_rows ({', '.join(own)}) FROM STDIN") as copy:
        for values in tuples:
            copy.write_row(values)
            count += 1
    return count


def _shared_values(table: Table, store: Store, common: Mapping[str, Any],
                   own: Sequence[str]) -> dict[str, Any]:
    """Every column the rows do not give, with its processed value: from ``common``, else its default."""
    unknown = sorted(set(common).union(own) - set(table.c.keys()))
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {unknown}: give only its columns' names")
    shared: dict[str, Any] = {}
    for column in table.columns:
        if column.key in own:
            continue
        if column.primary_key:
            raise ValueError(f"{table.name}.{column.key} is the primary key: give it in each row, not once")
        value = common.get(column.key)
        if value is None and column.default is not None and (column.key not in common or not column.nullable):
            arg = column.default.arg  # type: ignore[attr-defined]
            value = arg(None) if callable(arg) else arg
        process = _processor(column, store)
        shared[column.key] = process(value) if process else value
    return shared


def _processor(column: Any, store: Store) -> Callable[[Any], Any] | None:
    return column.type._cached_bind_processor(store.engine.dialect)  # type: ignore[no-any-return]
