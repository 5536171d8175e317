"""Fire preview for people and programs: the next fires of a stored job, or of a spec not yet saved.

``rules.preview`` computes and marks the fires; this is the service the CLI (``jobs next``, ``jobs add
--dry-run``) and the API (``GET /v1/jobs/{id}/next``) call, so both say the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clawsched.sched.errors import SpecError
from clawsched.sched.rules import preview, schedules
from clawsched.sched.states import ScheduleKind
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import utcnow

DEFAULT_COUNT = 5


def parse_start(text: str | None, tz: str, *, now: datetime | None = None) -> datetime:
    """``--from`` / ``from``: ISO-8601; without an offset it is read in the job's zone; absent: now."""
    if text is None or not text.strip():
        return now or utcnow()
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SpecError(f"from: {text!r} is not an ISO-8601 instant; use e.g. 2026-11-01T00:00:00Z, or a local "
                        f"time like 2026-11-01T00:00 (read in the job's zone, {tz})", field="from") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=schedules.zone(tz))
    return parsed.astimezone(UTC)


def for_job(store: Store, job_id: str, count: int = DEFAULT_COUNT, *, start: str | None = None,
            now: datetime | None = None) -> dict[str, Any]:
    """The next ``count`` fires of a stored job from ``start`` (default now)."""
    from clawsched.sched import jobs

    job = jobs.get(store, job_id)
    return of(job, count, parse_start(start, job.schedule_tz or "UTC", now=now))


def of(job: Any, count: int, start: datetime) -> dict[str, Any]:
    """The preview of a ``Job`` row (saved or a dry run's): each fire in UTC and the job's zone, marked."""
    schedule = schedules.Schedule.of(job)
    fires = [] if job.parent_id else preview.next_fires(schedule, start, count)
    note = None
    if job.parent_id or schedule.kind is ScheduleKind.CHAIN:
        note = "a chain child has no clock: it fires when its parent finishes"
    elif not job.enabled:
        note = "the job is disabled: these are the fires it would have once enabled"
    return {"job_id": job.id, "tz": schedule.tz, "from": start.isoformat().replace("+00:00", "Z"),
            "stagger_s": schedule.offset.total_seconds(), "note": note,
            "fires": [f.as_dict(schedule.tz) for f in fires]}
