"""Reading openclaw-scheduler's ``scheduler.db``: the peer's SQLite file, opened read-only, as plain rows.

Nothing is written to the file (``mode=ro``), so an import can run beside a stopped peer and be repeated.
The file is checked before any row is read: a file that is not SQLite, or SQLite without the peer's
``jobs`` and ``runs`` tables, is refused naming what is missing, and nothing is imported. Tables that older
versions of the peer did not have (``job_dispatch_queue`` before v11, ``idempotency_ledger`` before v7)
are read as empty; missing columns of older versions read as absent keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clawsched.sched.errors import SpecError

REQUIRED = {"jobs": {"id", "name", "payload_message", "session_target"}, "runs": {"id", "job_id", "status"}}
OPTIONAL = ("delivery_aliases", "agents", "messages", "approvals", "idempotency_ledger", "job_dispatch_queue")


class PeerFile:
    """An open ``scheduler.db``; every read returns rows as dicts of the peer's column names."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self.tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def version(self) -> int | None:
        """The peer's schema version (``schema_migrations``), None when the file does not record it."""
        if "schema_migrations" not in self.tables:
            return None
        found = self.db.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(found[0]) if found and found[0] is not None else None

    def rows(self, table: str, order: str = "rowid") -> list[dict[str, Any]]:
        if table not in self.tables:
            return []
        return [dict(r) for r in self.db.execute(f"SELECT * FROM {table} ORDER BY {order}")]  # noqa: S608

    def runs_of(self, job_id: str) -> Iterator[dict[str, Any]]:
        """A job's runs, oldest first (as the peer's ``runs list`` shows them, reversed)."""
        cursor = self.db.execute("SELECT * FROM runs WHERE job_id = ? ORDER BY started_at, rowid", (job_id,))
        return (dict(r) for r in cursor)


@contextmanager
def open_peer_file(path: Path) -> Iterator[PeerFile]:
    """The file at ``path`` opened read-only, or a SpecError naming the path and what is wrong with it."""
    if not path.is_file():
        raise SpecError(f"path: {str(path)!r} is not a file; give the peer's scheduler.db "
                        "(default ~/.openclaw/scheduler/scheduler.db)", field="path")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SpecError(f"path: {str(path)!r} cannot be opened ({exc})", field="path") from None
    db.row_factory = sqlite3.Row
    try:
        peer = _checked(db, path)
        yield peer
    finally:
        db.close()


def _checked(db: sqlite3.Connection, path: Path) -> PeerFile:
    try:
        peer = PeerFile(db, path)
        check = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise SpecError(f"path: {str(path)!r} is not an SQLite database ({exc}); give openclaw-scheduler's "
                        "scheduler.db", field="path") from None
    if check != "ok":
        raise SpecError(f"path: {str(path)!r} is damaged (SQLite's check: {check}); restore it from a backup "
                        "or run `sqlite3 scheduler.db .recover`", field="path")
    for table, needed in REQUIRED.items():
        if table not in peer.tables:
            raise SpecError(f"path: {str(path)!r} has no {table!r} table: it is not an openclaw-scheduler "
                            "database", field="path")
        columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if missing := needed - columns:
            raise SpecError(f"path: the {table!r} table of {str(path)!r} lacks {', '.join(sorted(missing))}: it "
                            "is not an openclaw-scheduler database", field="path")
    return peer
