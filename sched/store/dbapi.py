"""The worker's per-run statements, run on a DBAPI connection its thread keeps, not through a Session.

Every run costs a worker three statements (load the run and its job, mark it running, record the
outcome). Through ``Connection.execute`` each paid about 250 µs of client CPU on top of the driver:
the compiled-cache lookup, execution context, result metadata built from the cursor's description
(psycopg makes a ``Column`` object per column, and a run joined to its job has over a hundred), and
the pool's checkout and reset. On two cores that CPU is taken from the shell jobs themselves.

A ``Prepared`` statement is a Core statement compiled once per dialect, carrying the statement's own
bind and result processors, so what goes in and comes out is exactly what Core would send and return
(aware UTC datetimes, JSON, booleans on SQLite). ``Direct`` holds one connection per thread, in
autocommit on PostgreSQL (each statement is its own transaction, one round trip) and with explicit
``BEGIN IMMEDIATE`` on SQLite when several statements must commit together. A connection that fails
is closed and replaced on next use; one idle longer than ``IDLE_PING_S`` is pinged first, the same
rule as the pool's (``engine._ping_when_idle``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]
IDLE_PING_S = 2.0  # a connection used more recently than this is trusted without a ping (the pool's rule too)
MAX_PREPARED = 256


class Prepared:
    """A Core statement compiled once for a dialect, with its parameter order and value processors."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        computed = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if computed:  # Core's execution context computes these; this path has none
            raise ValueError(f"columns {computed} take a Python-side default or onupdate: give them values "
                             "in the statement (e.g. updated_at=JOBS.c.updated_at) to run it directly")
        if "POSTCOMPILE" in compiled.string:  # expanded at execution by Core, which this path skips
            raise ValueError("IN (...) with a list is expanded per execution: write the condition with = and OR, "
                             "or run the statement through Core")
        self.sql: str = compiled.string
        self._compiled = compiled
        self._binds: dict[str, Processor] = dict(compiled._bind_processors)
        self._order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        if dialect.name == "postgresql":
            self.sql, self._order = _numbered(compiled.string)
        columns = compiled._result_columns
        self.columns: tuple[str, ...] = tuple(c[0] for c in columns)
        processors = [c[3]._cached_result_processor(dialect, None) for c in columns]
        self._results: list[tuple[int, Processor]] = [(i, p) for i, p in enumerate(processors) if p is not None]

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The DBAPI parameters: bound literals filled in, each passed through its type's bind processor."""
        params = self._compiled.construct_params(values, _check=False)
        for name, process in self._binds.items():
            if name in params:
                params[name] = process(params[name])
        if self._order is not None:
            return tuple(params[name] for name in self._order)
        return params

    def values(self, raw: Sequence[Any]) -> list[Any]:
        """A fetched row's values, each through its type's result processor."""
        values = list(raw)
        for i, process in self._results:
            values[i] = process(values[i])
        return values

    def row(self, raw: Sequence[Any] | None) -> dict[str, Any] | None:
        """A fetched row as ``{column: value}``, or None."""
        return None if raw is None else dict(zip(self.columns, self.values(raw), strict=True))


_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str) -> tuple[str, list[str]]:
    """``%(name)s`` placeholders as ``$1``..., for psycopg's ``RawCursor``: converted once here, where
    psycopg would parse the query on every execution (it caches only queries under 4 kB, and a run
    joined to its job is longer)."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    numbered = _PYFORMAT.sub(number, sql)
    if "%(" in numbered:
        raise ValueError(f"a placeholder in {sql[:80]!r}... is not %(name)s; run the statement through Core")
    return numbered, order


class Direct:
    """One DBAPI connection per thread (and per process: a forked child opens its own)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._prepared: dict[Any, Prepared] = {}
        self.sqlite = engine.dialect.name == "sqlite"
        # the driver's own exception for a violated constraint, for callers that turn one into a domain error
        self.integrity_errors: type[Exception] = engine.dialect.loaded_dbapi.IntegrityError

    def prepare(self, statement: Any) -> Prepared:
        """The statement compiled for this store's dialect, once per statement object: callers pass
        statements they build once (module constants, ``lru_cache``d builders)."""
        found = self._prepared.get(statement)
        if found is None:
            if len(self._prepared) >= MAX_PREPARED:  # a caller building statements per call: stay bounded
                self._prepared.clear()
            found = self._prepared[statement] = Prepared(statement, self._engine.dialect)
        return found

    def run(self, statement: Any, values: Mapping[str, Any]) -> int:
        """Run one statement on its own (autocommit); returns its rowcount."""
        with self._connection() as conn:
            return _run(conn, self.prepare(statement), values)

    def first(self, statement: Any, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row the statement returns as ``{column: value}``, or None."""
        prepared = self.prepare(statement)
        with self._connection() as conn:
            return prepared.row(_fetch(conn, prepared, values))

    def first_values(self, statement: Any, values: Mapping[str, Any]) -> list[Any] | None:
        """The first row the statement returns as a list of values, or None."""
        prepared = self.prepare(statement)
        with self._connection() as conn:
            raw = _fetch(conn, prepared, values)
        return None if raw is None else prepared.values(raw)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Several statements committed together (``BEGIN IMMEDIATE`` on SQLite, ``BEGIN`` on PostgreSQL)."""
        with self._connection() as conn:
            _statement(conn, "BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
            try:
                yield Transaction(self, conn)
            except BaseException:
                _statement(conn, "ROLLBACK")
                raise
            _statement(conn, "COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = self._connect()
        elif not self.sqlite and time.monotonic() - local.used > IDLE_PING_S and not self._alive(conn):
            self._drop(conn)
            conn = self._connect()
        dbapi = self._engine.dialect.loaded_dbapi
        try:
            yield conn
        except (dbapi.OperationalError, dbapi.InterfaceError):
            self._drop(conn)  # the next statement reconnects
            raise
        finally:
            local.used = time.monotonic()

    def _connect(self) -> Any:
        """A connection made by the engine (so its connect hooks, e.g. SQLite's pragmas, ran), then
        taken out of the pool: this thread owns it."""
        fairy = self._engine.raw_connection()
        fairy.detach()  # closing it now closes the DBAPI connection instead of returning it
        conn = fairy.dbapi_connection
        assert conn is not None, "a connection just checked out"
        if not self.sqlite:
            import psycopg

            conn.autocommit = True
            conn.cursor_factory = psycopg.RawCursor  # the queries carry $n placeholders (``_numbered``)
        local = self._local
        local.fairy, local.conn, local.pid, local.used = fairy, conn, os.getpid(), time.monotonic()
        return conn

    def _alive(self, conn: Any) -> bool:
        try:
            _statement(conn, "SELECT 1")
            return True
        except Exception:
            return False

    def _drop(self, conn: Any) -> None:
        fairy, self._local.conn, self._local.fairy = getattr(self._local, "fairy", None), None, None
        try:
            (fairy or conn).close()
        except Exception:
            pass

    def close(self) -> None:
        """Close this thread's connection (the process's other threads close theirs when they end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            self._drop(conn)


class Transaction:
    """Statements inside ``Direct.transaction``."""

    def __init__(self, direct: Direct, conn: Any) -> None:
        self._direct, self._conn = direct, conn

    def run(self, statement: Any, values: Mapping[str, Any]) -> int:
        return _run(self._conn, self._direct.prepare(statement), values)

    def first(self, statement: Any, values: Mapping[str, Any]) -> dict[str, Any] | None:
        prepared = self._direct.prepare(statement)
        return prepared.row(_fetch(self._conn, prepared, values))

    def column(self, statement: Any, values: Mapping[str, Any]) -> list[Any]:
        """The first column of every row the statement returns."""
        prepared = self._direct.prepare(statement)
        cursor = self._conn.cursor()
        try:
            cursor.execute(prepared.sql, prepared.parameters(values))
            return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.close()


# Each statement gets its own cursor, closed before returning: an open cursor on SQLite keeps its
# read snapshot (and so blocks its connection's next write), and on any driver keeps server state.

def _run(conn: Any, prepared: Prepared, values: Mapping[str, Any]) -> int:
    cursor = conn.cursor()
    try:
        cursor.execute(prepared.sql, prepared.parameters(values))
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _fetch(conn: Any, prepared: Prepared, values: Mapping[str, Any]) -> Sequence[Any] | None:
    cursor = conn.cursor()
    try:
        cursor.execute(prepared.sql, prepared.parameters(values))
        return cast("Sequence[Any] | None", cursor.fetchone())
    finally:
        cursor.close()


def _statement(conn: Any, sql: str) -> None:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()
