"""``clawsched backup`` and ``restore``: the whole database in one portable file, into either dialect.

A backup is gzip'd JSON lines: a header (format, schema revision, when, from which dialect), then for each
table in foreign-key order a line naming it and its columns, its rows as JSON arrays, and a trailer with
the row count and a digest. Instants are ISO-8601 UTC, bytes base64 (offloaded output, ``run_output_chunks``,
is in the file like every other row). Portable on purpose: a SQLite backup restores into PostgreSQL and
back (``pg_dump`` and SQLite's backup API would each tie the file to one dialect).

The digest of a table is the sum, modulo 2**256, of the SHA-256 of each row's canonical line: independent
of row order, which differs between dialects' collations. A restore checks the file against its trailers,
then the target against the file, and only then commits: a truncated or edited file, or a target that does
not read back what was written, leaves the target empty.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, LargeBinary, Table

from clawsched.sched.errors import Conflict, SpecError
from clawsched.sched.store import dumping, migrations
from clawsched.sched.store.columns import UTCDateTime
from clawsched.sched.store.engine import Store
from clawsched.sched.store.tables import utcnow

FORMAT = "clawsched-backup"
VERSION = 1
MOD = 2**256


def _kinds(table: Table) -> list[str]:
    return ["instant" if isinstance(c.type, UTCDateTime) else "bytes" if isinstance(c.type, LargeBinary)
            else "json" if isinstance(c.type, JSON) else "plain" for c in table.c]


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "instant":
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    return value


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "instant":
        return datetime.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


def _line(values: list[Any]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(line: str) -> int:
    return int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")


def _require_current(store: Store, what: str) -> str:
    revision, head = migrations.current(store), migrations.head()
    if revision != head:
        raise Conflict(f"{what} is at schema revision {revision or 'none'}, this clawsched at {head}: "
                       "run clawsched db upgrade on it first")
    return str(head)


def backup(store: Store, dest: Path) -> dict[str, Any]:
    """Write every table to ``dest`` (refused if it exists; written beside it, then renamed into place)."""
    if dest.exists():
        raise Conflict(f"{dest} exists: name a new file (a backup never overwrites one)")
    revision = _require_current(store, "the database")
    partial = dest.with_name(f".{dest.name}.partial")
    tables: dict[str, dict[str, Any]] = {}
    try:
        with gzip.open(partial, "wt", encoding="utf-8") as out, dumping.snapshot(store) as conn:
            header = {"format": FORMAT, "version": VERSION, "revision": revision, "dialect": store.dialect,
                      "created_at": utcnow().isoformat()}
            out.write(json.dumps(header) + "\n")
            for table in dumping.TABLES:
                tables[table.name] = _write_table(out, table, dumping.rows(conn, table))
            out.write(json.dumps({"done": True, "tables": tables}) + "\n")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return {"file": str(dest), "revision": revision, "bytes": dest.stat().st_size, "tables": tables}


def _write_table(out: IO[str], table: Table, found: Iterator[tuple[Any, ...]]) -> dict[str, Any]:
    kinds = _kinds(table)
    out.write(json.dumps({"table": table.name, "columns": [c.name for c in table.c]}) + "\n")
    count, digest = 0, 0
    for row in found:
        line = _line([_encode(k, v) for k, v in zip(kinds, row, strict=True)])
        out.write(line + "\n")
        count, digest = count + 1, (digest + _digest(line)) % MOD
    summary = {"rows": count, "digest": f"{digest:064x}"}
    out.write(json.dumps({"end": table.name, **summary}) + "\n")
    return summary


def restore(store: Store, src: Path) -> dict[str, Any]:
    """Load ``src`` into the empty database of ``store`` (its schema made first when it has none)."""
    if not src.is_file():
        raise SpecError(f"{src}: no such backup file", field="SRC")
    with gzip.open(src, "rt", encoding="utf-8") as lines:
        header = _header(src, lines)
        if migrations.current(store) is None:
            migrations.upgrade(store)
        _require_current(store, "the target database")
        if header["revision"] != migrations.head():
            raise Conflict(f"{src} is a backup at schema revision {header['revision']}, this clawsched is at "
                           f"{migrations.head()}: restore it with the release that made it, then upgrade")
        present = {name: n for name, n in dumping.counts(store).items() if n}
        if present:
            shown = ", ".join(f"{n} {name}" for name, n in sorted(present.items()))
            raise Conflict(f"restore needs an empty database; this one has {shown}: create a fresh database "
                           "and point CLAWSCHED_DATABASE_URL (or --database-url) at it")
        reader = _Reader(src, lines)
        dumping.load(store, reader.tables(), check=reader.check)
    return {"file": str(src), "revision": header["revision"], "from": header.get("dialect"),
            "tables": reader.summaries}


def _header(src: Path, lines: IO[str]) -> dict[str, Any]:
    try:
        header = json.loads(lines.readline())
    except (OSError, EOFError, ValueError) as exc:
        raise SpecError(f"{src} is not a clawsched backup ({exc})", field="SRC") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise SpecError(f"{src} is not a clawsched backup (format {FORMAT} version {VERSION})", field="SRC")
    return header


class _Reader:
    """The file's tables in order, each checked against its trailer as it is read; ``check`` then reads
    the target back and compares every table's count and digest with the file's."""

    def __init__(self, src: Path, lines: IO[str]) -> None:
        self.src, self.lines = src, lines
        self.summaries: dict[str, dict[str, Any]] = {}

    def _next(self) -> Any:
        try:
            raw = self.lines.readline()
        except (OSError, EOFError) as exc:
            raise SpecError(f"{self.src} is damaged ({exc}); nothing was restored", field="SRC") from None
        if not raw:
            raise SpecError(f"{self.src} ends early (truncated?); nothing was restored", field="SRC")
        return json.loads(raw)

    def tables(self) -> Iterator[tuple[Table, Iterator[dict[str, Any]]]]:
        for table in dumping.TABLES:
            opening = self._next()
            if opening.get("table") != table.name or opening.get("columns") != [c.name for c in table.c]:
                raise SpecError(f"{self.src}: expected table {table.name} with this release's columns, found "
                                f"{opening.get('table')!r}; nothing was restored", field="SRC")
            yield table, self._rows(table)
        if self._next().get("done") is not True:
            raise SpecError(f"{self.src} has no end marker; nothing was restored", field="SRC")

    def _rows(self, table: Table) -> Iterator[dict[str, Any]]:
        kinds, names = _kinds(table), [c.name for c in table.c]
        count, digest = 0, 0
        while isinstance(item := self._next(), list):
            line = _line(item)
            count, digest = count + 1, (digest + _digest(line)) % MOD
            yield {n: _decode(k, v) for n, k, v in zip(names, kinds, item, strict=True)}
        summary = {"rows": count, "digest": f"{digest:064x}"}
        if item != {"end": table.name, **summary}:
            raise SpecError(f"{self.src}: table {table.name} does not match its trailer (damaged or edited); "
                            "nothing was restored", field="SRC")
        self.summaries[table.name] = summary

    def check(self, conn: Any) -> None:
        for table in dumping.TABLES:
            kinds = _kinds(table)
            count, digest = 0, 0
            for row in dumping.rows(conn, table):
                count += 1
                digest = (digest + _digest(_line([_encode(k, v) for k, v in zip(kinds, row, strict=True)]))) % MOD
            if {"rows": count, "digest": f"{digest:064x}"} != self.summaries[table.name]:
                raise Conflict(f"restore: table {table.name} did not read back as written "
                               f"({count} rows, {self.summaries[table.name]['rows']} in the file); rolled back")
