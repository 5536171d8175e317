"""The rows a claim writes besides the runs it sends now: ``missed`` records and ``catchup: all`` replays.

``claims.claim_due_fires`` asks ``rules.misfire`` what to do with a job whose fires piled up, and writes
the answer here in the claim's own transaction: each fire that does not run becomes a finished run with
status ``missed`` and the reason in ``skip_reason``; each replay after the first a ``pending`` run released
by the beat at its turn. Both carry ``scheduled_for``, so the unique key (job, slot) keeps a second claim
from writing any of them twice. A missed record is finalised at once unless the job's failure alert counts
missed fires, in which case the post-run pipeline (through the reconciler) sees it like a failure.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from clawsched.sched.rules import delivery, misfire
from clawsched.sched.states import RunStatus, Trigger

from .run_rows import new_run
from .tables import RUNS

log = logging.getLogger(__name__)


def missed_row(job: Any, missed: misfire.Missed, now: datetime) -> dict[str, Any]:
    """A finished ``missed`` run for one slot of ``job`` (a row with the claim's schedule columns)."""
    policy = delivery.alert_policy(job)
    alerts = policy is not None and policy.include_missed
    return new_run(job.id, job.run_timeout_ms, trigger=Trigger.SCHEDULE, now=now, status=RunStatus.MISSED,
                   scheduled_for=missed.slot, finished_at=now, duration_ms=0, skip_reason=missed.text[:512],
                   summary=f"missed: {missed.text}", finalized_at=None if alerts else now)


def replay_rows(job: Any, slots: tuple[datetime, ...], now: datetime, interval: timedelta) -> list[dict[str, Any]]:
    """``pending`` runs for the replays after the first, each released ``interval`` after the one before."""
    return [new_run(job.id, job.run_timeout_ms, trigger=Trigger.SCHEDULE, now=now, status=RunStatus.PENDING,
                    not_before=now + i * interval, scheduled_for=slot)
            for i, slot in enumerate(slots) if i > 0]


def insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert rows of one shape in one executemany; on a unique-key clash, one by one, keeping the rest.
    Returns the rows written."""
    if not rows:
        return []
    try:
        with conn.begin_nested():
            conn.execute(insert(RUNS), rows)
        return rows
    except IntegrityError:
        pass
    kept = []
    for row in rows:
        try:
            with conn.begin_nested():
                conn.execute(insert(RUNS), [row])
            kept.append(row)
        except IntegrityError:
            log.info("slot %s of job %s was already recorded", row["scheduled_for"], row["job_id"])
    return kept
