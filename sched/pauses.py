"""Pause with a note: ``jobs pause ID --reason ... [--until INSTANT]`` and ``jobs resume ID``.

A paused job does not fire: its ``next_run_at`` moves (``rules.pausing``) and the ``paused`` gate skips a
scheduled, chain or retry run of it that was already on its way (a manual run still goes, as for a
disabled job). Who paused it, why, since and until when are columns of the job, shown by ``jobs list``,
``jobs get`` and the API. At ``paused_until`` the job fires again by itself; the upkeep pass
(``expire``) then clears the note and records the resume. Each pause and resume is in the audit log,
written in the same transaction.

``jobs resume`` follows the job's misfire policy (``catchup``, docs/scheduling.md) for the fires the pause
held back; a pause that runs out at ``--until`` does not catch up (its first fire is the one at or after
``paused_until``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from clawsched.sched import audit
from clawsched.sched.audit import Action, Actor
from clawsched.sched.errors import Conflict, SpecError
from clawsched.sched.rules import pausing
from clawsched.sched.rules.schedules import Schedule
from clawsched.sched.specs.fields import CONTROL_CHARS
from clawsched.sched.states import Catchup, ScheduleKind
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Job, utcnow

REASON_MAX = 512
_PAUSE_COLUMNS = ("paused_at", "paused_by", "paused_reason", "paused_until")


def _checked(reason: str, until: datetime | None, now: datetime) -> tuple[str, datetime | None]:
    """The reason and the end of a pause, refused naming the option and the fix."""
    reason = (reason or "").strip()
    if not reason:
        raise SpecError("reason: is required: say why the job is paused (--reason)", field="reason")
    if len(reason) > REASON_MAX:
        raise SpecError(f"reason: is longer than {REASON_MAX} characters", field="reason")
    if match := CONTROL_CHARS.search(reason):
        raise SpecError(f"reason: contains the control character {match.group()!r}", field="reason")
    if until is not None:
        until = until.replace(tzinfo=UTC) if until.tzinfo is None else until.astimezone(UTC)
        if until <= now:
            raise SpecError(f"until: {until.isoformat()} has passed; give an instant in the future", field="until")
    return reason, until


def pause(store: Store, job_id: str, *, reason: str, until: datetime | None = None, actor: Actor,
          now: datetime | None = None) -> Job:
    """Pause a job (again: the new reason and end replace the old ones)."""
    from clawsched.sched.jobs import _load

    now = now or utcnow()
    reason, until = _checked(reason, until, now)
    with store.session() as s:
        job = _load(s, job_id)
        before = _note(job)
        if job.paused_at is None:
            job.paused_at = now
        job.paused_by, job.paused_reason, job.paused_until = actor.name[:256], reason, until
        job.next_run_at = pausing.next_run_of_paused(job)
        job.updated_at = now
        audit.record(s, job.id, Action.PAUSE, actor, now=now, note=reason,
                     changes=audit.field_diff(before, _note(job)))
        return job


def resume(store: Store, job_id: str, *, actor: Actor, now: datetime | None = None) -> Job:
    """End a pause now; the next fire is computed from now."""
    from clawsched.sched.jobs import _load

    now = now or utcnow()
    with store.session() as s:
        job = _load(s, job_id)
        if job.paused_at is None:
            raise Conflict(f"job {job_id!r} is not paused; pause it with `clawsched jobs pause {job_id} --reason ...`")
        before, paused_at = _note(job), job.paused_at
        _clear(job)
        job.next_run_at = _resumed_fire(job, paused_at, now)
        job.updated_at = now
        audit.record(s, job.id, Action.RESUME, actor, now=now, changes=audit.field_diff(before, _note(job)))
        return job


def _resumed_fire(job: Job, paused_at: datetime | None, now: datetime) -> datetime | None:
    """The next fire after a resume, by the job's misfire policy (``catchup``): ``latest`` and ``all``
    get the first fire the pause held back, so the beat catches up as after an outage (``latest``: one
    run now; ``all``: each fire inside ``catchup_window_s``, paced); ``none`` fires next from now. A
    one-shot that has not run fires at its instant, or now if that passed."""
    from clawsched.sched.jobs import first_fire

    if job.schedule_kind == ScheduleKind.AT.value:
        if job.last_run_at is not None or job.schedule_at is None or job.parent_id:
            return None
        return max(job.schedule_at, now)
    if job.catchup == Catchup.NONE.value or paused_at is None or job.parent_id:
        return first_fire(job, now)
    held_back = Schedule.of(job).next_after(paused_at)
    return held_back if held_back is not None and held_back <= now else first_fire(job, now)


def expire(store: Store, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Clear the pauses that ran out (``paused_until`` passed; the job fires again already), recording a
    resume by the scheduler for each. Idempotent: several beats' upkeep may run it at once."""
    now = now or utcnow()
    with store.session() as s:
        q = (select(Job).where(Job.paused_at.is_not(None), Job.paused_until <= now)
             .order_by(Job.paused_until).limit(limit).with_for_update(skip_locked=True))
        ended = list(s.scalars(q))
        for job in ended:
            before = _note(job)
            _clear(job)
            audit.record(s, job.id, Action.RESUME, audit.SCHEDULER, now=now, note="the pause ran out",
                         changes=audit.field_diff(before, _note(job)))
        return [job.id for job in ended]


def _note(job: Job) -> dict[str, Any]:
    return {c: getattr(job, c) for c in _PAUSE_COLUMNS}


def _clear(job: Job) -> None:
    for column in _PAUSE_COLUMNS:
        setattr(job, column, None)
