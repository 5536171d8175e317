"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) and PostgreSQL through one code path.

``sqlalchemy.orm`` is imported on the first session, not here: a CLI read that goes through Core
(``clawsched jobs list``) opens a Store without paying a tenth of a second for the ORM.

On PostgreSQL every round trip counts twice on a small machine (the server shares the CPU), so: reads
run in autocommit (no BEGIN/ROLLBACK around a SELECT; at READ COMMITTED a transaction would not give
them a steadier view anyway), a single self-contained statement can run in autocommit (``atomic``), and
a pooled connection is pinged only when it has been idle (``IDLE_PING_S``), not at every checkout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from clawsched.sched.errors import NotFound, UnavailableError
from clawsched.sched.store.dbapi import IDLE_PING_S
from clawsched.sched.store.urls import normalise_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from clawsched.sched.store.dbapi import Direct

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the scheduler's short, frequent, contended transactions."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN instead so a
        # read-then-write transaction never fails half way with "database is locked".
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping``, but only for a connection idle longer than ``IDLE_PING_S``.

    A ping per checkout is a round trip per transaction: on the worker's hot path that was a third of
    its statements. A connection that worked a moment ago is trusted; if the server went away in that
    moment, the statement fails, SQLAlchemy invalidates the pool, and the next checkout reconnects.
    """

    @event.listens_for(engine, "connect")
    def _fresh(dbapi_conn: Any, record: Any) -> None:
        record.info["clawsched_used"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _used(dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["clawsched_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("clawsched_used", 0.0) < IDLE_PING_S:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()  # the ping opened a transaction; the pooled connection must be idle
        except Exception as exc:  # the pool retries the checkout with a new connection
            raise DisconnectionError(str(exc)) from exc


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_begin(conn: Any) -> None:
    deferred = conn.get_execution_options().get("clawsched_read_only", False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN IMMEDIATE
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


class Store:
    """The database handle every service takes: an engine and a session factory, nothing more."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.read_engine = self.engine.execution_options(clawsched_read_only=True)
        self._autocommit = self.engine
        if self.engine.dialect.name == "postgresql":
            self.read_engine = self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
            self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def _readers(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.read_engine, expire_on_commit=False)

    @cached_property
    def direct(self) -> Direct:
        """Per-thread DBAPI connections for the worker's per-run statements (``direct``)."""
        from clawsched.sched.store.dbapi import Direct

        return Direct(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        with self._transaction(self.sessions) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction; on SQLite it does not take the write lock."""
        with self._transaction(self._readers) as session:
            yield session

    @contextmanager
    def _transaction(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        with factory() as session:
            try:
                with session.begin():
                    yield session
            except Exception as exc:
                _raise_unavailable(exc, self.url)
                raise

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A connection for statements that are each atomic on their own (one guarded UPDATE).

        Autocommit on PostgreSQL: one round trip instead of BEGIN, statement, COMMIT. A short
        ``BEGIN IMMEDIATE`` transaction on SQLite, where there are no round trips to save.
        """
        if self._autocommit is self.engine:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self._autocommit.connect() as conn:
                yield conn

    def fetch(self, model: type[T], key: Any, missing: str) -> T:
        """One row by primary key, or ``NotFound(missing)``: ``missing`` names the object and the fix."""
        with self.read() as s:
            found = s.get(model, key)
        if found is None:
            raise NotFound(missing)
        return found

    def dispose(self) -> None:
        if "direct" in self.__dict__:
            self.direct.close()
        self.engine.dispose()


def _raise_unavailable(exc: Exception, url: str) -> None:
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError) and "could not connect" in str(exc).lower():
        safe = url.split("@")[-1]
        raise UnavailableError(f"cannot reach the database at {safe}; is it running?") from exc
