"""Fire preview: the next fires of a schedule, in UTC and in the job's zone, with daylight-saving folds and
gaps marked. Pure: the caller gives the instant to start from.

The fires are exactly the ones the beat would claim (``Schedule.next_after``, the stagger applied); each is
then described: a wall time that happens twice (a fall-back fold) is marked ``fold``, saying whether the
fire is its first or second pass and, for a fixed-time cron, that it fires once; a fixed-time cron whose
wall time does not exist (a spring-forward gap) fires at the end of the gap, marked ``gap`` with the wall
time it stands for. ``schedules``' docstring has the rules themselves (Vixie cron's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clawsched.sched.rules.schedules import Schedule, wall_match_after, zone
from clawsched.sched.states import ScheduleKind

MAX_FIRES = 1000
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Fire:
    """One upcoming fire: when (UTC and local), and what daylight saving does to it (``mark``, ``note``)."""

    utc: datetime
    local: datetime
    mark: str | None = None  # "fold" | "gap"
    note: str | None = None

    def as_dict(self, tz: str) -> dict[str, Any]:
        return {"utc": self.utc.isoformat().replace("+00:00", "Z"), "local": self.local.isoformat(), "zone": tz,
                "abbrev": self.local.tzname(), "mark": self.mark, "note": self.note}


def next_fires(schedule: Schedule, start: datetime, n: int) -> list[Fire]:
    """The first ``n`` fires at or after ``start`` (fewer when the schedule ends)."""
    fires: list[Fire] = []
    after = start - _TICK
    while len(fires) < min(n, MAX_FIRES):
        fire = schedule.next_after(after)
        if fire is None:
            break
        fires.append(describe(schedule, fire))
        after = fire
    return fires


def describe(schedule: Schedule, fire: datetime) -> Fire:
    """A fire with its local time and its fold or gap mark (judged on the un-staggered instant)."""
    tz = zone(schedule.tz)
    local = fire.astimezone(tz)
    base_utc = fire - schedule.offset
    base = base_utc.astimezone(tz)
    if schedule.kind is ScheduleKind.CRON and schedule.cron:
        gap = _gap_note(schedule.cron, base_utc, tz)
        if gap is not None:
            return Fire(fire, local, "gap", gap)
    fold = _fold_note(schedule, base, tz)
    return Fire(fire, local, "fold" if fold else None, fold)


def _fold_note(schedule: Schedule, base: datetime, tz: ZoneInfo) -> str | None:
    naive = base.replace(tzinfo=None)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    wall = f"{naive:%H:%M} on {naive:%Y-%m-%d}"
    passes = f"{first.tzname()}, then {second.tzname()}"
    fixed = schedule.kind is ScheduleKind.CRON and schedule.cron and wall_match_after(schedule.cron, naive)[1]
    if fixed:
        return f"{wall} happens twice ({passes}); fires once, at the first"
    which = "second" if base.fold else "first"
    return f"{wall} happens twice ({passes}); this is the {which} pass"


def _gap_note(cron: str, base_utc: datetime, tz: ZoneInfo) -> str | None:
    """For a fire at the end of a spring-forward gap: the skipped wall time it stands for (the arithmetic is in
    UTC: aware arithmetic in a zone is wall-clock arithmetic)."""
    base = base_utc.astimezone(tz)
    before = (base_utc - timedelta(seconds=1)).astimezone(tz)
    if before.utcoffset() == base.utcoffset():
        return None
    wall_before = before.replace(tzinfo=None)
    match, fixed = wall_match_after(cron, wall_before)
    if not fixed or match >= base.replace(tzinfo=None):
        return None
    jump_from = wall_before + timedelta(seconds=1)
    return (f"{match:%H:%M} does not exist on {match:%Y-%m-%d} (clocks jump from {jump_from:%H:%M} to "
            f"{base:%H:%M} {base.tzname()}); fires at {base:%H:%M}")
