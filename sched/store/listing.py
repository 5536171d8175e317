"""Listing jobs with their one-word status: the read ``clawsched jobs list`` makes on every call.

The read goes straight to the DBAPI driver (sqlite3, psycopg) and imports no SQLAlchemy. On a 2-core
machine, importing SQLAlchemy takes about 0.25 s of the command's 0.4 s, and a listing needs none of it.
The schema is not repeated here. The query is ``SELECT *`` and the database describes its own columns:
psycopg returns typed values, and on SQLite the declared column types (``PRAGMA table_info``) say which
text is an instant, which integer a boolean and which text is JSON. ``tests/test_cli.py`` checks
every column against the ORM's reading of the same rows, on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clawsched.sched.errors import UnavailableError
from clawsched.sched.states import FAILED, RunStatus
from clawsched.sched.store.urls import DriverTarget, driver_target

if TYPE_CHECKING:
    from clawsched.sched.store.engine import Store

_SETTLED = (RunStatus.OK.value, RunStatus.SKIPPED.value, RunStatus.MISSED.value)
_FAILED = tuple(sorted(status.value for status in FAILED))
_SQLITE_READ_TIMEOUT_S = 30.0  # a WAL reader waits only while another process recovers the file
_PG_TIMESTAMPS = {1114, 1184}  # timestamp, timestamptz


@dataclass(frozen=True)
class Reader:
    """A DBAPI connection and its dialect: all a listing needs."""

    connection: Any
    dialect: str


@contextmanager
def reader(url: str, store: Callable[[], Store]) -> Iterator[Reader]:
    """A connection for ``url``, opened by the driver itself when it can be.

    ``store()`` is called only when the driver cannot open ``url`` alone (see ``urls.driver_target``).
    That covers a fresh SQLite file, whose schema the store creates. The connection is then borrowed
    from the store's pool.
    """
    target = driver_target(url)
    if target is None:
        borrowed = store()
        raw = borrowed.engine.raw_connection()
        try:
            yield Reader(raw.driver_connection, borrowed.dialect)
        finally:
            raw.close()  # back to the pool, which rolls back the read
        return
    conn = _connect(target)
    try:
        yield Reader(conn, target.dialect)
    finally:
        conn.close()


def _connect(target: DriverTarget) -> Any:
    if target.dialect == "sqlite":
        import sqlite3

        return sqlite3.connect(target.target, timeout=_SQLITE_READ_TIMEOUT_S)
    import psycopg

    try:
        return psycopg.connect(target.target, autocommit=True)
    except psycopg.OperationalError as exc:
        safe = target.target.split("@")[-1]
        raise UnavailableError(f"cannot reach the database at {safe}; is it running? ({exc})") from exc


def status_of(job: dict[str, Any], running_ids: set[str]) -> str:
    """The one-word status ``jobs list`` shows: disabled, paused, running, ok, error, skipped or idle."""
    if not job["enabled"]:
        return "disabled"
    if job.get("paused_at") is not None and (job.get("paused_until") is None
                                             or job["paused_until"] > datetime.now(UTC)):
        return "paused"
    if job["id"] in running_ids:
        return "running"
    last = job["last_status"]
    if last in _SETTLED:
        return str(last)
    if last in _FAILED:
        return "error"
    return "idle"


def list_with_status(db: Reader, *, job_type: str | None = None) -> list[dict[str, Any]]:
    """Every job as a dict of its columns (instants as aware UTC datetimes), plus its ``status``.

    Jobs come in creation order, the same order as ``jobs add`` made them.
    """
    mark = "?" if db.dialect == "sqlite" else "%s"
    where, params = (f" WHERE deleted_at IS NULL AND job_type = {mark}", (job_type,)) if job_type else (
        " WHERE deleted_at IS NULL", ())
    cur = db.connection.cursor()
    try:
        try:
            cur.execute(f"SELECT * FROM jobs{where} ORDER BY created_at, id", params)
        except Exception as exc:
            _raise_missing_schema(exc)
            raise
        names = [d[0] for d in cur.description]
        convert = _converters(db, cur, names)
        rows = cur.fetchall()
        cur.execute(f"SELECT DISTINCT job_id FROM runs WHERE status = {mark}", (RunStatus.RUNNING.value,))
        running = {r[0] for r in cur.fetchall()}
    finally:
        cur.close()
    jobs = []
    for row in rows:
        job = dict(zip(names, row, strict=True))
        for name, fn in convert:
            value = job[name]
            if value is not None:
                job[name] = fn(value)
        job["status"] = status_of(job, running)
        jobs.append(job)
    return jobs


def _converters(db: Reader, cur: Any, names: list[str]) -> list[tuple[str, Callable[[Any], Any]]]:
    """What turns each column's driver value into the store's own (the ORM's) value."""
    if db.dialect == "postgresql":  # psycopg parses booleans and JSON; instants are stored naive UTC
        return [(d[0], _utc) for d in cur.description if d[1] in _PG_TIMESTAMPS]
    info = db.connection.execute("PRAGMA table_info(jobs)").fetchall()
    declared = {row[1]: str(row[2]).upper() for row in info}
    by_type: dict[str, Callable[[Any], Any]] = {"DATETIME": _sqlite_instant, "BOOLEAN": bool, "JSON": json.loads}
    return [(n, by_type[declared[n]]) for n in names if declared.get(n) in by_type]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_instant(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _raise_missing_schema(exc: Exception) -> None:
    """A database without clawsched's tables: say how to create them, not a driver traceback."""
    text = str(exc).lower()
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        raise UnavailableError("the database has no clawsched tables yet; create them with `clawsched db upgrade`"
                               ) from exc


MASK = "***"  # what a secret is shown as; given back in an update, it keeps the stored value (jobs.update)


def masked(job: dict[str, Any]) -> dict[str, Any]:
    """The job's data with the delivery secret and the values of its ``env`` hidden: listings are shown to
    people and logged, and a shell job's environment is where its credentials go."""
    if job.get("delivery_secret"):
        job["delivery_secret"] = MASK
    if isinstance(job.get("env"), dict):
        job["env"] = dict.fromkeys(job["env"], MASK)
    return job
