"""Database URLs: the forms people paste, and what a DBAPI driver needs to open one without SQLAlchemy.

Separate from ``db`` so a read that goes straight to the driver (``listing``) can parse its URL without
importing SQLAlchemy, which is most of a short CLI command's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class DriverTarget:
    """What to hand the DBAPI driver: a SQLite file path, or a libpq connection URI."""

    dialect: str  # "sqlite" or "postgresql"
    target: str


def driver_target(url: str) -> DriverTarget | None:
    """The driver-level form of ``url``, or None when only SQLAlchemy can interpret it.

    None covers an in-memory or URI-style SQLite database, SQLite URL options, a SQLite file that does
    not exist yet (the store creates its schema) and any other driver: the caller then goes through the
    store, which understands every URL it accepts. A PostgreSQL URL's query (``options=-csearch_path...``,
    ``sslmode=...``) is libpq's own syntax and passes through unchanged.
    """
    url = normalise_url(url)
    if url.startswith("postgresql+psycopg://"):
        return DriverTarget("postgresql", "postgresql://" + url[len("postgresql+psycopg://"):])
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url[len("sqlite:///"):]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    file = Path(path).expanduser()
    if not file.is_file() or file.stat().st_size == 0:
        return None
    return DriverTarget("sqlite", str(file))
