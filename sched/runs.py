"""Run services the CLI and the HTTP API call: start one now, read history, cancel open runs.

The run lifecycle itself — start, finish, skip, defer, crash — is the store's (``store.starting``,
``store.finishing``); this module is what a person or a program asks of runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .errors import NotFound
from .paging import Page, page
from .states import TERMINAL, RunStatus, Trigger
from .store.engine import Store
from .store.models import Job, Run, row_dict, run_has_status, utcnow
from .store.run_rows import follow_up

TERMINAL_VALUES = tuple(s.value for s in TERMINAL)
OPEN = (RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)

__all__ = ["OPEN", "TERMINAL_VALUES", "RunStatus", "as_dict", "cancel_for_jobs", "count_by_status", "enqueue",
           "for_job", "get", "running", "running_job_ids", "stale"]


def enqueue(store: Store, job_id: str, *, trigger: Trigger = Trigger.MANUAL, now: datetime | None = None,
            not_before: datetime | None = None, **extra: Any) -> str:
    """Create a pending run that the beat dispatches once ``not_before`` has passed."""
    now = now or utcnow()
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.deleted_at is not None:
            raise NotFound(f"job {job_id!r} not found; list jobs with `clawsched jobs list`")
        values = follow_up(job, trigger=trigger, now=now, not_before=not_before, **extra)
        s.add(Run(**values))
    return str(values["id"])


def cancel_for_jobs(s: Session, job_ids: list[str], reason: str, now: datetime) -> list[tuple[str, str]]:
    """Cancel every open run of these jobs (guarded per status); returns (run id, previous status) pairs."""
    rows = s.execute(
        select(Run.id, Run.status).where(Run.job_id.in_(job_ids), Run.status.in_([o.value for o in OPEN]))
    ).all()
    cancelled = []
    for run_id, status in rows:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(status))
            .values(status=RunStatus.CANCELLED.value, finished_at=now, error_message=reason,
                    summary=f"cancelled: {reason}")
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            cancelled.append((run_id, status))
    return cancelled


def get(store: Store, run_id: str) -> Run:
    return store.fetch(Run, run_id, f"run {run_id!r} not found; list runs with `clawsched runs list <job-id>`")


def for_job(store: Store, job_id: str, limit: int = 20) -> list[Run]:
    with store.read() as s:
        q = select(Run).where(Run.job_id == job_id).order_by(Run.created_at.desc(), Run.id).limit(limit)
        return list(s.scalars(q))


def recent(store: Store, *, job_id: str | None = None, statuses: Iterable[str] = (),
           since: datetime | None = None, limit: int = 20) -> list[Run]:
    """The latest runs across jobs (or of one), newest first, optionally in some statuses and since an instant."""
    q = select(Run).order_by(Run.created_at.desc(), Run.id).limit(limit)
    if job_id is not None:
        q = q.where(Run.job_id == job_id)
    wanted = [str(status) for status in statuses]
    if wanted:
        q = q.where(Run.status.in_(wanted))
    if since is not None:
        q = q.where(Run.created_at >= since)
    with store.read() as s:
        return list(s.scalars(q))


def running(store: Store) -> list[Run]:
    with store.read() as s:
        q = select(Run).where(Run.status == RunStatus.RUNNING.value).order_by(Run.started_at)
        return list(s.scalars(q))


def running_job_ids(session: Session, job_ids: Iterable[str]) -> set[str]:
    ids = list(job_ids)
    if not ids:
        return set()
    q = select(Run.job_id).where(Run.job_id.in_(ids), Run.status == RunStatus.RUNNING.value).distinct()
    return set(session.scalars(q))


def count_by_status(store: Store) -> dict[str, int]:
    with store.read() as s:
        return {status: n for status, n in s.execute(select(Run.status, func.count()).group_by(Run.status))}


def as_dict(run: Run) -> dict[str, Any]:
    """A run as JSON-ready data (instants as ISO-8601 UTC)."""
    return row_dict(run, Run)


def stale(store: Store, older_than_s: float, now: datetime | None = None) -> list[Run]:
    """Running runs whose heartbeat is older than ``older_than_s``: their worker is probably gone."""
    from .store import liveness

    return liveness.stale(store, older_than_s, now=now or utcnow())


def search(store: Store, *, job_id: str | None = None, statuses: Iterable[str] = (), since: datetime | None = None,
           until: datetime | None = None, limit: int = 50, offset: int = 0) -> Page[Run]:
    """One page of runs across jobs, newest first: of one job, in some statuses, created in
    ``[since, until)``; with the total. An unknown job is ``NotFound``, as for ``runs list``."""
    q = select(Run).order_by(Run.created_at.desc(), Run.id)
    if job_id is not None:
        with store.read() as s:
            if s.get(Job, job_id) is None:
                raise NotFound(f"job {job_id!r} not found; list jobs with `clawsched jobs list`")
        q = q.where(Run.job_id == job_id)
    wanted = [str(status) for status in statuses]
    if wanted:
        q = q.where(Run.status.in_(wanted))
    if since is not None:
        q = q.where(Run.created_at >= since)
    if until is not None:
        q = q.where(Run.created_at < until)
    return page(store, q, limit=limit, offset=offset)
