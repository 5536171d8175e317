"""What the beat claims in SQL: due fires of scheduled jobs, and pending runs whose time has come.

A fire is claimed in one transaction that advances ``jobs.next_run_at`` (guarded by the value it read)
and inserts the run (unique per job and scheduled instant). Several beats may run at once: on PostgreSQL
the due rows are locked with ``FOR UPDATE SKIP LOCKED`` so beats split the work; on SQLite the write
transaction is exclusive. Either way each fire is claimed exactly once. The cost of a claim follows what
is due, never how many jobs exist: both queries walk an index from its start.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import DateTime, String, bindparam, cast, column, insert, select, update, values
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import runs, schedules
from .db import Store
from .models import JOBS, Job, Run, UTCDateTime
from .states import RunStatus, Trigger

log = logging.getLogger(__name__)

SCHEDULE_COLUMNS = (
    Job.id, Job.next_run_at, Job.schedule_kind, Job.schedule_cron, Job.schedule_tz, Job.schedule_at,
    Job.schedule_every_ms, Job.schedule_anchor, Job.stagger_ms, Job.run_timeout_ms,
)


def claim_due_fires(store: Store, now: datetime, limit: int = 500) -> list[str]:
    """Claim up to ``limit`` due fires; returns the ids of the queued runs to send to the workers."""
    with store.session() as s:
        q = (
            select(*SCHEDULE_COLUMNS)
            .where(Job.enabled.is_(True), Job.next_run_at <= now)
            .order_by(Job.next_run_at)
            .limit(limit)
        )
        if store.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True, of=Job)
        rows = s.execute(q).all()
        if not rows:
            return []
        advances, new_runs = [], []
        for row in rows:
            upcoming = schedules.advance(schedules.Schedule.of(row), row.next_run_at, now)
            advances.append({"jid": row.id, "seen": row.next_run_at, "upcoming": upcoming})
            new_runs.append(
                runs.new_run(row, trigger=Trigger.SCHEDULE, now=now, status=RunStatus.QUEUED,
                             scheduled_for=row.next_run_at, dispatched_at=now)
            )
        _advance(s, advances)
        try:
            with s.begin_nested():
                s.execute(insert(Run), new_runs)
        except IntegrityError:
            new_runs = _insert_one_by_one(s, new_runs)
    return [str(r["id"]) for r in new_runs]


def _advance(s: Session, advances: list[dict[str, object]]) -> None:
    """Move each claimed job's ``next_run_at`` on, guarded by the value the claim read.

    PostgreSQL gets one ``UPDATE ... FROM (VALUES ...)``: an executemany of single-row updates cost ~1 ms
    a row there (10 s for a 10 000-job burst). SQLite runs the executemany in-process, which is fast.
    """
    if s.get_bind().dialect.name == "postgresql":
        rows = [(a["jid"], a["seen"], a["upcoming"]) for a in advances]
        batch = values(column("jid", String), column("seen", UTCDateTime()), column("upcoming", UTCDateTime()),
                       name="v").data(rows)
        # Casts: a VALUES column of only NULLs (one-shot jobs that fire no more) would otherwise be text.
        s.execute(update(JOBS).where(JOBS.c.id == batch.c.jid, JOBS.c.next_run_at == cast(batch.c.seen, DateTime()))
                  .values(next_run_at=cast(batch.c.upcoming, DateTime())))
        return
    stmt = (
        update(JOBS)
        .where(JOBS.c.id == bindparam("jid"), JOBS.c.next_run_at == bindparam("seen"))
        .values(next_run_at=bindparam("upcoming"))
    )
    s.connection().execute(stmt, advances)


def _insert_one_by_one(s: Session, new_runs: list[dict[str, object]]) -> list[dict[str, object]]:
    """Fallback when a batch hit the unique key: keep every fire that nobody else claimed."""
    kept = []
    for row in new_runs:
        try:
            with s.begin_nested():
                s.execute(insert(Run), [row])
            kept.append(row)
        except IntegrityError:
            log.info("fire of job %s at %s was already claimed", row["job_id"], row["scheduled_for"])
    return kept


def claim_due_runs(store: Store, now: datetime, limit: int = 500) -> list[str]:
    """pending -> queued for runs whose not-before instant has passed (manual runs, retries, children)."""
    with store.session() as s:
        q = (
            select(Run.id)
            .where(Run.status == RunStatus.PENDING.value, Run.not_before <= now)
            .order_by(Run.not_before)
            .limit(limit)
        )
        if store.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if not ids:
            return []
        s.execute(
            update(Run)
            .where(Run.id.in_(ids), Run.status == RunStatus.PENDING.value)
            .values(status=RunStatus.QUEUED.value, dispatched_at=now)
        )
    return ids


def next_due_at(store: Store) -> datetime | None:
    """The earliest instant at which anything becomes due (a job fire or a pending run)."""
    with store.read() as s:
        job_next = s.scalar(
            select(Job.next_run_at).where(Job.enabled.is_(True), Job.next_run_at.is_not(None))
            .order_by(Job.next_run_at).limit(1)
        )
        run_next = s.scalar(
            select(Run.not_before).where(Run.status == RunStatus.PENDING.value, Run.not_before.is_not(None))
            .order_by(Run.not_before).limit(1)
        )
    candidates = [t for t in (job_next, run_next) if t is not None]
    return min(candidates) if candidates else None


def stale_queued(store: Store, older_than: datetime, limit: int = 500) -> list[str]:
    """Runs queued before ``older_than`` that no worker has started: their message may be lost."""
    with store.read() as s:
        q = (
            select(Run.id)
            .where(Run.status == RunStatus.QUEUED.value, Run.dispatched_at < older_than)
            .order_by(Run.dispatched_at)
            .limit(limit)
        )
        return list(s.scalars(q))


def mark_redispatched(store: Store, run_ids: list[str], now: datetime) -> None:
    with store.session() as s:
        s.execute(
            update(Run).where(Run.id.in_(run_ids), Run.status == RunStatus.QUEUED.value).values(dispatched_at=now)
        )

