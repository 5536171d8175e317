"""The run lifecycle: every state change is a guarded UPDATE (compare-and-set on the current status).

A duplicate Celery message, a second beat or a replayed callback finds the row already moved and does
nothing. Terminal states never change again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import schedules
from .db import Store
from .errors import NotFound
from .models import Job, Run, new_id, utcnow
from .states import FAILED, TERMINAL, RunStatus, ScheduleKind, Trigger

log = logging.getLogger(__name__)

TERMINAL_VALUES = tuple(s.value for s in TERMINAL)


@dataclass(frozen=True)
class Outcome:
    """What an executor reports about one run; ``finish`` writes it in one guarded UPDATE."""

    status: RunStatus
    summary: str | None = None
    error_message: str | None = None
    reply: str | None = None
    usage: dict[str, Any] | None = None
    session_key: str | None = None
    shell: dict[str, Any] = field(default_factory=dict)  # shell_* columns

    def columns(self) -> dict[str, Any]:
        values: dict[str, Any] = {"status": self.status.value, "summary": self.summary,
                                  "error_message": self.error_message, **self.shell}
        for name in ("reply", "usage", "session_key"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        return values


def new_run(job: Any, *, trigger: Trigger, now: datetime, status: RunStatus = RunStatus.PENDING,
            not_before: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """Column values for a run of ``job`` (for a bulk INSERT or ``Run(**values)``)."""
    return {
        "id": new_id(),
        "job_id": job.id,
        "status": status.value,
        "trigger": trigger.value,
        "created_at": now,
        "not_before": not_before if not_before is not None else now,
        "run_timeout_ms": job.run_timeout_ms,
        **extra,
    }


def enqueue(store: Store, job_id: str, *, trigger: Trigger = Trigger.MANUAL, now: datetime | None = None,
            not_before: datetime | None = None, **extra: Any) -> str:
    """Create a pending run that the beat dispatches once ``not_before`` has passed."""
    now = now or utcnow()
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} not found; list jobs with `clawsched jobs list`")
        values = new_run(job, trigger=trigger, now=now, not_before=not_before, **extra)
        s.add(Run(**values))
    return str(values["id"])


def start(store: Store, run_id: str, *, hostname: str, pid: int, worker_id: str | None = None,
          now: datetime | None = None) -> bool:
    """queued -> running. False when another worker (or a cancel) got there first."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.QUEUED.value)
            .values(status=RunStatus.RUNNING.value, started_at=now, last_heartbeat=now,
                    hostname=hostname, pid=pid, worker_id=worker_id)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def heartbeat(store: Store, run_id: str, now: datetime | None = None) -> bool:
    """Refresh the run's liveness lease; False means it is no longer running here (cancelled, reaped)."""
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
            .values(last_heartbeat=now or utcnow())
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def skip(store: Store, run_id: str, reason: str, *, now: datetime | None = None,
         from_status: RunStatus = RunStatus.QUEUED) -> bool:
    """Record a fire that did not run (overlap, pool busy, gateway down). Skips are not errors."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, Run.status == from_status.value)
            .values(status=RunStatus.SKIPPED.value, skip_reason=reason, summary=f"skipped: {reason}",
                    finished_at=now, duration_ms=0)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        run = s.get(Run, run_id)
        job = s.get(Job, run.job_id) if run else None
        if job is not None:
            job.last_status = RunStatus.SKIPPED.value
            job.last_run_at = now
        return True


def finish(store: Store, run_id: str, outcome: Outcome, *, now: datetime | None = None) -> Run | None:
    """running -> a terminal status, with the job's bookkeeping in the same transaction."""
    now = now or utcnow()
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            return None
        started = run.started_at or now
        duration = max(0, int((now - started).total_seconds() * 1000))
        result = s.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
            .values(finished_at=now, duration_ms=duration, **outcome.columns())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        s.refresh(run)
        job = s.get(Job, run.job_id)
        if job is not None:
            record_on_job(job, run, now)
        return run


def record_on_job(job: Job, run: Run, now: datetime) -> None:
    """The job's view of its latest final outcome: last status, consecutive errors, error backoff."""
    status = RunStatus(run.status)
    job.last_run_at = now
    job.last_status = status.value
    if status == RunStatus.OK:
        job.consecutive_errors = 0
    elif status in FAILED and not will_retry(job, run):
        job.consecutive_errors = (job.consecutive_errors or 0) + 1
        if job.schedule_kind in (ScheduleKind.CRON.value, ScheduleKind.EVERY.value) and job.next_run_at:
            job.next_run_at = schedules.next_fire_after_finish(
                schedules.Schedule.of(job), job.next_run_at, now, job.consecutive_errors
            )
    if job.schedule_kind == ScheduleKind.AT.value and not will_retry(job, run):
        job.enabled = False


def will_retry(job: Job, run: Run) -> bool:
    """Whether the retry policy will give this failed run another attempt (so it is not final yet)."""
    return RunStatus(run.status) in FAILED and (run.retry_count or 0) < (job.max_retries or 0)


def get(store: Store, run_id: str) -> Run:
    with store.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(f"run {run_id!r} not found; list runs with `clawsched runs list <job-id>`")
        return run


def for_job(store: Store, job_id: str, limit: int = 20) -> list[Run]:
    with store.read() as s:
        q = select(Run).where(Run.job_id == job_id).order_by(Run.created_at.desc(), Run.id).limit(limit)
        return list(s.scalars(q))


def running(store: Store) -> list[Run]:
    with store.read() as s:
        q = select(Run).where(Run.status == RunStatus.RUNNING.value).order_by(Run.started_at)
        return list(s.scalars(q))


def stale(store: Store, older_than_s: float, now: datetime | None = None) -> list[Run]:
    """Running runs whose heartbeat is older than ``older_than_s``: their worker is probably gone."""
    from datetime import timedelta

    cutoff = (now or utcnow()) - timedelta(seconds=older_than_s)
    with store.read() as s:
        q = select(Run).where(Run.status == RunStatus.RUNNING.value, Run.last_heartbeat < cutoff)
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
    out: dict[str, Any] = {}
    for column in Run.__table__.columns:
        value = getattr(run, column.key)
        out[column.key] = value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
    return out
