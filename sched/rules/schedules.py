"""Pure schedule rules: when a job fires next, how long it backs off, how long a retry waits.

Nothing here reads the clock or touches a store: every function takes the instants it reasons about, so the
beat, the workers and the tests all get the same answer for the same inputs. Instants in and out are aware
UTC ``datetime`` values.

Cron wall-clock semantics across daylight-saving changes follow Vixie cron, which is what users of cron
expect (croniter alone gets the fall-back fold wrong: it fires a fixed-time job twice):

* A *fixed-time* expression (neither the minute nor the hour field starts with ``*``, e.g. ``30 1 * * *``)
  fires once per matching wall time: in a fall-back fold only the first occurrence fires, and a wall time
  inside a spring-forward gap fires at the first instant after the gap.
* A *wildcard* expression (``*/15 * * * *``, ``0 * * * *``) fires by elapsed time: both passes of a fold
  fire, and wall times that do not exist are simply not there, so no interval is skipped or doubled.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

from clawsched.sched.errors import SpecError
from clawsched.sched.states import ScheduleKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CRON_ALLOWED = (
    "5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first "
    "('*/5 * * * * *' = every 5 s), or one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, "
    "@annually"
)
NICKNAMES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
ERROR_BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
)
RETRY_BASE_S = 30.0
RETRY_CAP_S = 3600.0
# Offsets around an instant are sampled this far away so a fold or gap next to it is seen (the longest
# transitions in tzdata are 2 h; 3 h leaves room).
_TRANSITION_REACH = timedelta(hours=3)


class ScheduledJob(Protocol):
    """What ``Schedule.of`` reads: a ``Job`` row or a ``JobSpec`` (``id`` may be absent on a spec)."""

    schedule_kind: str
    schedule_cron: str | None
    schedule_tz: str
    schedule_at: datetime | None
    schedule_every_ms: int | None
    schedule_anchor: datetime | None
    stagger_ms: int


# --------------------------------------------------------------------------------------------- validation


@functools.lru_cache(maxsize=512)
def zone(tz: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name, or SpecError naming the field (cached: the beat asks often)."""
    if not isinstance(tz, str) or not tz.strip() or tz != tz.strip():
        raise SpecError(_tz_message(tz), field="schedule_tz")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SpecError(_tz_message(tz), field="schedule_tz") from None


def _tz_message(tz: object) -> str:
    return f"schedule_tz: {tz!r} is not an IANA time zone; use a name like 'America/New_York' or 'UTC'"


def validate_tz(tz: str) -> None:
    """Reject a time zone name zoneinfo does not know, before it reaches a stored job."""
    zone(tz)


def validate_cron(expr: str, tz: str = "UTC") -> None:
    """Reject an expression that does not parse or never fires, saying what the accepted forms are."""
    cron = _parse_cron(expr)
    try:
        _Base(cron, zone(tz)).next_after(datetime(2026, 1, 1, tzinfo=UTC))
    except SpecError:
        raise
    except (CroniterError, ValueError, OverflowError):
        raise SpecError(f"schedule_cron: {expr!r} never fires (no matching date within the next years)",
                        field="schedule_cron") from None


@dataclass(frozen=True)
class _Cron:
    """A parsed cron expression plus a per-thread croniter (re-seeding one is 3x cheaper than building it)."""

    expr: str
    seconds_first: bool
    fixed_time: bool
    _local: threading.local = field(default_factory=threading.local, compare=False, repr=False)

    def iterate(self, start: datetime) -> Iterator[datetime]:
        """Naive wall-clock matches strictly after the naive ``start``."""
        it: croniter | None = getattr(self._local, "it", None)
        if it is None:
            it = croniter(self.expr, start, second_at_beginning=self.seconds_first)
            self._local.it = it
        else:
            it.set_current(start, force=True)
        while True:
            yield it.get_next(datetime)


@functools.lru_cache(maxsize=4096)
def _parse_cron(expr: str) -> _Cron:
    """Normalise nicknames and field order once per expression; the beat re-uses the result for every fire."""
    if not isinstance(expr, str):
        raise SpecError(f"schedule_cron: expected a string; allowed: {CRON_ALLOWED}", field="schedule_cron")
    text = " ".join(expr.split())
    text = NICKNAMES.get(text.lower(), text)
    fields = text.split(" ")
    if text.startswith("@") or len(fields) not in (5, 6):
        raise SpecError(f"schedule_cron: {expr!r} is not a cron expression; allowed: {CRON_ALLOWED}",
                        field="schedule_cron")
    seconds_first = len(fields) == 6
    minute, hour = fields[-5], fields[-4]
    try:
        croniter(text, datetime(2026, 1, 1), second_at_beginning=seconds_first)
    except (CroniterBadCronError, CroniterBadDateError, CroniterError, ValueError, KeyError) as exc:
        raise SpecError(f"schedule_cron: {expr!r} is not valid ({exc}); allowed: {CRON_ALLOWED}",
                        field="schedule_cron") from None
    fixed = not minute.startswith("*") and not hour.startswith("*")
    return _Cron(text, seconds_first, fixed)


def wall_match_after(expr: str, naive: datetime) -> tuple[datetime, bool]:
    """The first wall-clock match of ``expr`` strictly after the naive ``naive``, and whether the expression
    is fixed-time (the preview names a fire moved out of a DST gap by its wall time)."""
    cron = _parse_cron(expr)
    return next(cron.iterate(naive)), cron.fixed_time


# ---------------------------------------------------------------------------------------- wall-clock time


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    """The transition instant that skips over the non-existent wall time ``naive`` (first valid instant)."""
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # read with the offset after the change: earlier
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)  # read with the offset before the change: later
    before = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=int((hi - lo).total_seconds()) // 2)
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _resolve(naive: datetime, tz: ZoneInfo, fixed_time: bool) -> list[datetime]:
    """The UTC instants at which one wall-clock match fires, by the Vixie rules in the module docstring."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    off0, off1 = first.utcoffset(), second.utcoffset()
    if off0 == off1:
        return [first.astimezone(UTC)]
    exists = _wall(first.astimezone(UTC), tz) == naive
    if not exists:  # spring-forward gap
        return [_gap_end(naive, tz)] if fixed_time else []
    if fixed_time:  # fall-back fold: the first pass only
        return [first.astimezone(UTC)]
    return sorted({first.astimezone(UTC), second.astimezone(UTC)})


@dataclass(frozen=True)
class _Base:
    """Base (un-staggered) cron fires in one zone."""

    cron: _Cron
    tz: ZoneInfo

    def next_after(self, instant: datetime) -> datetime:
        if self.tz.key == "UTC":
            for naive in self.cron.iterate(instant.replace(tzinfo=None)):
                if (fire := naive.replace(tzinfo=UTC)) > instant:
                    return fire
        # Wall-clock matches are not in instant order inside a fold, so start early enough to see the second
        # pass of a nearby fold, and stop once no later match can beat the best fire found.
        offsets = [(instant + d).astimezone(self.tz).utcoffset() or timedelta(0)
                   for d in (-_TRANSITION_REACH, timedelta(0), _TRANSITION_REACH)]
        start = (instant + min(offsets)).replace(tzinfo=None)
        best: datetime | None = None
        for naive in self.cron.iterate(start):
            if best is not None and (naive - max(offsets)).replace(tzinfo=UTC) >= best:
                return best
            for fire in _resolve(naive, self.tz, self.cron.fixed_time):
                if fire > instant and (best is None or fire < best):
                    best = fire
            if best is not None and min(offsets) == max(offsets):
                return best  # no change within reach of ``instant``: the first match is the answer
        raise AssertionError("unreachable: croniter iterates forever or raises")


# ---------------------------------------------------------------------------------------------- schedule


def stagger_offset(seed: str, stagger_ms: int) -> timedelta:
    """A deterministic offset in ``[0, stagger_ms)`` so jobs sharing a cron minute spread out, stably."""
    if stagger_ms <= 0:
        return timedelta(0)
    digest = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")
    return timedelta(milliseconds=digest % stagger_ms)


@dataclass(frozen=True)
class Schedule:
    """When one job fires; built from a row or a spec, compared and hashed by value."""

    kind: ScheduleKind
    cron: str | None = None
    tz: str = "UTC"
    at: datetime | None = None
    every_ms: int | None = None
    anchor: datetime | None = None
    stagger_ms: int = 0
    seed: str = ""

    @classmethod
    def of(cls, job: Any) -> Schedule:
        """Read the ``schedule_*`` attributes of a ``Job`` row or a ``JobSpec`` (the seed is the job id)."""
        return cls(
            kind=ScheduleKind(job.schedule_kind),
            cron=job.schedule_cron,
            tz=job.schedule_tz or "UTC",
            at=job.schedule_at,
            every_ms=job.schedule_every_ms,
            anchor=job.schedule_anchor,
            stagger_ms=job.stagger_ms or 0,
            seed=getattr(job, "id", None) or "",
        )

    @property
    def offset(self) -> timedelta:
        """This job's stagger: added to every base fire (cron and every; ``at`` is exact)."""
        if self.kind not in (ScheduleKind.CRON, ScheduleKind.EVERY):
            return timedelta(0)
        return stagger_offset(self.seed, self.stagger_ms)

    def next_after(self, instant: datetime) -> datetime | None:
        """The first actual fire strictly after ``instant``; None when the schedule never fires again."""
        instant = _utc(instant)
        if self.kind is ScheduleKind.AT:
            return _utc(self.at) if self.at is not None and _utc(self.at) > instant else None
        if self.kind is ScheduleKind.CHAIN:
            return None
        offset = self.offset
        base = self._base_after(instant - offset)
        return None if base is None else base + offset

    def _base_after(self, instant: datetime) -> datetime | None:
        if self.kind is ScheduleKind.EVERY:
            return _every_after(instant, self.every_ms, self.anchor)
        if not self.cron:
            return None
        return _cron_after(self.cron, self.tz, instant)


@functools.lru_cache(maxsize=4096)
def _cron_after(cron: str, tz: str, instant: datetime) -> datetime:
    """Memoised: a top-of-hour fan-out asks the same question for thousands of jobs at once."""
    return _Base(_parse_cron(cron), zone(tz)).next_after(instant)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: schedule rules take aware instants")
    return instant.astimezone(UTC)


def _every_after(instant: datetime, every_ms: int | None, anchor: datetime | None) -> datetime | None:
    """``anchor + k*every`` (k >= 0) strictly after ``instant``, in exact integer arithmetic."""
    if not every_ms or every_ms <= 0:
        return None
    start = _utc(anchor) if anchor is not None else EPOCH
    if instant < start:
        return start
    period = timedelta(milliseconds=every_ms)
    k = (instant - start) // period + 1
    return start + k * period


# ------------------------------------------------------------------------------------ failures and time


def error_backoff(consecutive_errors: int) -> timedelta:
    """How long a recurring job rests after n consecutive final failures (30 s, 1, 5, 15, 60 min)."""
    if consecutive_errors <= 0:
        return timedelta(0)
    return ERROR_BACKOFF[min(consecutive_errors, len(ERROR_BACKOFF)) - 1]


def retry_delay(retry_count: int, scale: float = 1.0) -> timedelta:
    """The wait before the n-th retry (n >= 1): 30 s doubling, capped at an hour, scaled (tests use < 1)."""
    n = max(retry_count, 1)
    seconds = min(RETRY_BASE_S * 2 ** min(n - 1, 32), RETRY_CAP_S)
    return timedelta(seconds=seconds * scale)


def next_fire_after_finish(
    schedule: Schedule, planned_next: datetime | None, finished_at: datetime, consecutive_errors: int
) -> datetime | None:
    """The next fire once a run finished: the planned slot, or the error backoff if that is later.

    A job with nothing planned (a spent ``at``, a chain child) stays unplanned: backoff only delays fires,
    it never invents one.
    """
    if planned_next is None or consecutive_errors <= 0:
        return planned_next
    return max(planned_next, _utc(finished_at) + error_backoff(consecutive_errors))


def advance(schedule: Schedule, fired_instant: datetime, now: datetime) -> datetime | None:
    """The slot after a fire, skipping any backlog: the first fire strictly after both the fire and now.

    The beat's claim no longer calls this: ``rules.misfire.plan`` decides which fires of a backlog run and
    records the others ``missed``; its ``upcoming`` is this same slot.
    """
    return schedule.next_after(max(_utc(fired_instant), _utc(now)))
