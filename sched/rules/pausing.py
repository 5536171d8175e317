"""When a paused job fires again (pure: takes the instants it reasons about).

A pause moves the job's ``next_run_at``: to nothing while it is paused without an end, or to its first
fire at or after ``paused_until``, so the beat's due query needs no pause condition and a pause that
runs out resumes the job at the exact instant, with no pass that has to notice it first. The fires that
fell inside the pause do not run: the operator asked for that. A one-shot (``at``) job whose instant fell
inside the pause fires when the pause ends, once, instead of never.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.rules.schedules import Schedule
from clawsched.sched.states import ScheduleKind

_JUST_BEFORE = timedelta(microseconds=1)


def is_paused(paused_at: datetime | None, paused_until: datetime | None, now: datetime) -> bool:
    """A pause holds from ``paused_at`` until ``paused_until`` (for ever without one)."""
    return paused_at is not None and (paused_until is None or paused_until > now)


def next_run_of_paused(job: Any) -> datetime | None:
    """``next_run_at`` of a paused job row: none without an end, none for a child (its parent triggers
    it) or a one-shot that has run, else its first fire once the pause ends."""
    if job.parent_id or (job.schedule_kind == ScheduleKind.AT.value and job.last_run_at is not None):
        return None
    return fire_after_pause(Schedule.of(job), job.paused_until)


def fire_after_pause(schedule: Schedule, paused_until: datetime | None) -> datetime | None:
    """The first fire a job paused until ``paused_until`` makes (None: none while the pause has no end)."""
    if paused_until is None:
        return None
    if schedule.kind is ScheduleKind.AT:
        return None if schedule.at is None else max(schedule.at, paused_until)
    return schedule.next_after(paused_until - _JUST_BEFORE)
