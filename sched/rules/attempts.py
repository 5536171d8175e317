"""Attempt rules: whether a failed run is retried or replayed, and what its outcome does to its job.

Pure functions of the job and run rows as the caller holds them and of ``now``: the worker's finishing
statement, the reaper and the post-run steps all ask these same questions and get the same answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from clawsched.sched.states import FAILED, MAY_HAVE_RUN, DeliveryGuarantee, RunStatus, ScheduleKind

from . import schedules

MAX_REPLAYS = 3


class JobRow(Protocol):
    id: str
    max_retries: Any
    delivery_guarantee: Any
    schedule_kind: Any
    consecutive_errors: Any
    next_run_at: Any


class RunRow(Protocol):
    status: Any
    retry_count: Any


def will_retry(job: Any, run: Any) -> bool:
    """Whether the retry policy gives this failed run another attempt (so it is not final yet).

    A crashed or unconfirmed run is never retried by the ladder: it may have done its work.
    ``at-least-once`` jobs replay it instead (``will_replay``); ``at-most-once`` jobs leave it be.
    """
    status = RunStatus(run.status)
    return status in FAILED and status not in MAY_HAVE_RUN and (run.retry_count or 0) < (job.max_retries or 0)


def will_replay(job: Any, run: Any, earlier_replays: int) -> bool:
    """Whether a crashed or unconfirmed run is replayed: ``at-least-once`` jobs, at most ``MAX_REPLAYS``
    times in a row."""
    return (
        run.status in MAY_HAVE_RUN
        and job.delivery_guarantee == DeliveryGuarantee.AT_LEAST_ONCE.value
        and earlier_replays < MAX_REPLAYS
    )


def bookkeeping(job: Any, run: Any, now: datetime, *, replaying: bool = False) -> dict[str, Any]:
    """The job columns a final outcome changes: last status, consecutive errors, error backoff, and an
    ``at`` job disabled after its last attempt.

    A failure that a retry or a crash replay will follow is not final: it does not count as an error.
    Only the columns that change are returned, so a statement that writes them leaves a concurrent
    edit of the others (an operator disabling the job mid-run) alone.
    """
    status = RunStatus(run.status)
    changes: dict[str, Any] = {"last_run_at": now, "last_status": status.value}
    final = not will_retry(job, run) and not replaying
    if status == RunStatus.OK:
        changes["consecutive_errors"] = 0
    elif status in FAILED and final:
        errors = (job.consecutive_errors or 0) + 1
        changes["consecutive_errors"] = errors
        if job.schedule_kind in (ScheduleKind.CRON.value, ScheduleKind.EVERY.value) and job.next_run_at:
            changes["next_run_at"] = schedules.next_fire_after_finish(
                schedules.Schedule.of(job), job.next_run_at, now, errors)
    if job.schedule_kind == ScheduleKind.AT.value and final:
        changes["enabled"] = False
    return changes


def record_on_job(job: Any, run: Any, now: datetime, *, replaying: bool = False) -> None:
    """``bookkeeping`` applied to a job object the caller will write back."""
    for name, value in bookkeeping(job, run, now, replaying=replaying).items():
        setattr(job, name, value)
