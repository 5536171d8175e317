"""Listing jobs with their one-word status: the read ``clawsched jobs list`` makes on every call.

Core tables and no ORM, session or schedule rules, so the command imports SQLAlchemy Core and nothing
heavier. ``jobs`` re-exports these functions; this is their only implementation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .db import Store
from .states import RunStatus
from .tables import JOBS, RUNS, row_dict

_SETTLED = (RunStatus.OK.value, RunStatus.SKIPPED.value)
_FAILED = (RunStatus.ERROR.value, RunStatus.TIMEOUT.value, RunStatus.CRASHED.value)


def status_of(job: Any, running_ids: set[str]) -> str:
    """The one-word status ``jobs list`` shows: disabled, running, ok, error, skipped or idle."""
    if not job.enabled:
        return "disabled"
    if job.id in running_ids:
        return "running"
    if job.last_status in _SETTLED:
        return job.last_status  # type: ignore[no-any-return]
    if job.last_status in _FAILED:
        return "error"
    return "idle"


def list_with_status(store: Store, *, job_type: str | None = None) -> list[tuple[Any, str]]:
    """Every job (as a read-only row with the job's attributes) and its one-word status.

    Core rows rather than ORM objects: listing a thousand jobs is what ``jobs list`` does on every call.
    """
    q = select(JOBS).order_by(JOBS.c.created_at, JOBS.c.id)
    if job_type:
        q = q.where(JOBS.c.job_type == job_type)
    running = select(RUNS.c.job_id).where(RUNS.c.status == RunStatus.RUNNING.value).distinct()
    with store.read_engine.connect() as conn:  # a deferred BEGIN: SQLite's write lock is not taken
        rows = conn.execute(q).all()
        running_ids = set(conn.execute(running).scalars())
    return [(row, status_of(row, running_ids)) for row in rows]


def as_dict(job: Any, status: str | None = None) -> dict[str, Any]:
    """A job (ORM object or Core row) as JSON-ready data, with the delivery secret masked."""
    out = row_dict(job, JOBS)
    if out.get("delivery_secret"):
        out["delivery_secret"] = "***"
    if status is not None:
        out["status"] = status
    return out
