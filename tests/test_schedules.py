"""Pure schedule rules: exact UTC instants, no database, no clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from clawsched.sched.errors import SpecError
from clawsched.sched.rules.schedules import (
    Schedule,
    advance,
    error_backoff,
    next_fire_after_finish,
    retry_delay,
    stagger_offset,
    validate_cron,
    validate_tz,
)
from clawsched.sched.states import ScheduleKind

NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


def cron(expr: str, tz: str = "UTC", **kw: object) -> Schedule:
    return Schedule(ScheduleKind.CRON, cron=expr, tz=tz, **kw)  # type: ignore[arg-type]


def fires(schedule: Schedule, after: datetime, n: int) -> list[datetime]:
    out: list[datetime] = []
    for _ in range(n):
        nxt = schedule.next_after(after)
        assert nxt is not None
        out.append(nxt)
        after = nxt
    return out


def test_daily_nine_new_york_spring_forward() -> None:
    assert fires(cron("0 9 * * *", NY), utc(2026, 3, 6, 12), 4) == [
        utc(2026, 3, 6, 14), utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)
    ]


def test_daily_nine_new_york_fall_back() -> None:
    assert fires(cron("0 9 * * *", NY), utc(2026, 10, 30, 12), 4) == [
        utc(2026, 10, 30, 13), utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)
    ]


def test_wall_time_in_spring_gap_fires_once_at_gap_end() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: it fires at 03:00 EDT (07:00Z), once.
    assert fires(cron("30 2 * * *", NY), utc(2026, 3, 7, 12), 3) == [
        utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)
    ]
    assert cron("30 2 * * *", NY).next_after(utc(2026, 3, 8, 7)) == utc(2026, 3, 9, 6, 30)


def test_wall_time_in_fall_fold_fires_once_first_occurrence() -> None:
    # 01:30 happens twice on 2026-11-01 (05:30Z EDT and 06:30Z EST): only the first fires.
    assert fires(cron("30 1 * * *", NY), utc(2026, 10, 31, 12), 3) == [
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)
    ]
    assert cron("30 1 * * *", NY).next_after(utc(2026, 11, 1, 5, 40)) == utc(2026, 11, 2, 6, 30)


@pytest.mark.parametrize("start", [utc(2026, 3, 8, 5), utc(2026, 11, 1, 4)])
def test_quarter_hourly_fires_by_elapsed_time_through_transitions(start: datetime) -> None:
    got = fires(cron("*/15 * * * *", NY), start, 16)
    assert got == [start + timedelta(minutes=15 * k) for k in range(1, 17)]


def test_hourly_fires_every_real_hour_through_fold() -> None:
    got = fires(cron("0 * * * *", NY), utc(2026, 11, 1, 3), 5)
    assert got == [utc(2026, 11, 1, h) for h in range(4, 9)]


def test_next_after_is_consistent_from_any_instant_near_transitions() -> None:
    rng = random.Random(7)
    for expr in ("*/15 * * * *", "30 1 * * *", "45 2 * * *", "0 * * * *"):
        schedule = cron(expr, NY)
        for day in (utc(2026, 3, 8), utc(2026, 11, 1)):
            chain = fires(schedule, day - timedelta(days=1), 200 if "*" in expr.split()[1] else 4)
            for _ in range(100):
                probe = day - timedelta(hours=12) + timedelta(seconds=rng.randint(0, 36 * 3600))
                assert schedule.next_after(probe) == min(f for f in chain if f > probe), (expr, probe)


def test_six_fields_have_seconds_first() -> None:
    assert fires(cron("*/5 * * * * *"), utc(2026, 1, 1, 0, 0, 1), 3) == [
        utc(2026, 1, 1, 0, 0, 5), utc(2026, 1, 1, 0, 0, 10), utc(2026, 1, 1, 0, 0, 15)
    ]
    assert cron("30 0 12 * * *").next_after(utc(2026, 1, 1)) == utc(2026, 1, 1, 12, 0, 30)


def test_nicknames_and_strictly_after() -> None:
    assert cron("@hourly").next_after(utc(2026, 1, 1, 10)) == utc(2026, 1, 1, 11)
    assert cron("@daily", NY).next_after(utc(2026, 1, 1, 10)) == utc(2026, 1, 2, 5)
    assert cron("@yearly").next_after(utc(2026, 5, 1)) == utc(2027, 1, 1)
    just_after = utc(2026, 1, 1, 9) + timedelta(microseconds=1)
    assert cron("0 9 * * *").next_after(just_after) == utc(2026, 1, 2, 9)
    assert cron("0 9 * * *").next_after(utc(2026, 1, 1, 9)) == utc(2026, 1, 2, 9)


BAD_CRONS = ["@reboot", "* * *", "61 * * * *", "not a cron", "0 0 31 2 *", "* * * * * * *"]


@pytest.mark.parametrize("bad", BAD_CRONS)
def test_invalid_cron_names_the_field_and_the_allowed_forms(bad: str) -> None:
    with pytest.raises(SpecError) as err:
        validate_cron(bad, "UTC")
    assert err.value.field == "schedule_cron"
    assert err.value.errors[0]["field"] == "schedule_cron"


def test_unknown_tz_is_rejected() -> None:
    with pytest.raises(SpecError) as err:
        validate_tz("Mars/Base")
    assert err.value.field == "schedule_tz"
    assert "IANA" in str(err.value)
    validate_tz("Europe/Vienna")


def test_every_with_anchor_and_default_epoch() -> None:
    anchor = utc(2026, 1, 1, 0, 0, 7)
    every = Schedule(ScheduleKind.EVERY, every_ms=60_000, anchor=anchor)
    assert every.next_after(utc(2025, 12, 31)) == anchor
    assert every.next_after(anchor) == anchor + timedelta(minutes=1)
    assert every.next_after(utc(2026, 1, 1, 5, 0, 7)) == utc(2026, 1, 1, 5, 1, 7)
    assert every.next_after(utc(2026, 1, 1, 5, 0, 8)) == utc(2026, 1, 1, 5, 1, 7)
    unanchored = Schedule(ScheduleKind.EVERY, every_ms=250)
    assert unanchored.next_after(utc(2026, 1, 1) + timedelta(milliseconds=10)) == utc(2026, 1, 1) + timedelta(
        milliseconds=250
    )


def test_at_and_chain() -> None:
    at = Schedule(ScheduleKind.AT, at=utc(2026, 6, 1, 12))
    assert at.next_after(utc(2026, 6, 1, 11)) == utc(2026, 6, 1, 12)
    assert at.next_after(utc(2026, 6, 1, 12)) is None
    assert Schedule(ScheduleKind.CHAIN).next_after(utc(2026, 1, 1)) is None


def test_of_reads_a_row_like_object() -> None:
    row = SimpleNamespace(
        id="job-1", schedule_kind="cron", schedule_cron="0 9 * * *", schedule_tz=NY, schedule_at=None,
        schedule_every_ms=None, schedule_anchor=None, stagger_ms=0,
    )
    schedule = Schedule.of(row)
    assert schedule == Schedule(ScheduleKind.CRON, cron="0 9 * * *", tz=NY, seed="job-1")
    assert schedule.next_after(utc(2026, 3, 8)) == utc(2026, 3, 8, 13)


def test_stagger_is_deterministic_bounded_and_keeps_the_period() -> None:
    offsets = {seed: stagger_offset(seed, 300_000) for seed in (f"job-{i}" for i in range(50))}
    assert all(timedelta(0) <= o < timedelta(milliseconds=300_000) for o in offsets.values())
    assert len(set(offsets.values())) > 40  # different seeds spread out
    assert stagger_offset("job-1", 300_000) == offsets["job-1"]
    assert stagger_offset("job-1", 0) == timedelta(0)

    staggered = cron("0 * * * *", stagger_ms=300_000, seed="job-1")
    got = fires(staggered, utc(2026, 1, 1), 3)
    offset = offsets["job-1"]
    assert offset > timedelta(0)
    assert got == [utc(2026, 1, 1, h) + offset for h in (0, 1, 2)]  # base fires + offset, period kept
    # The first actual fire strictly after an instant that sits between a base fire and its offset.
    assert staggered.next_after(utc(2026, 1, 1, 5)) == utc(2026, 1, 1, 5) + offset
    assert staggered.next_after(utc(2026, 1, 1, 5) + offset) == utc(2026, 1, 1, 6) + offset


def test_error_backoff_ladder() -> None:
    assert [error_backoff(n) for n in range(8)] == [
        timedelta(0), timedelta(seconds=30), timedelta(seconds=60), timedelta(minutes=5),
        timedelta(minutes=15), timedelta(minutes=60), timedelta(minutes=60), timedelta(minutes=60),
    ]


def test_retry_ladder_caps_and_scales() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600
    ]
    assert retry_delay(2, scale=0.01) == timedelta(seconds=0.6)
    assert retry_delay(500) == timedelta(hours=1)


def test_backoff_is_whichever_is_later() -> None:
    schedule = cron("*/5 * * * *")
    finished = utc(2026, 1, 1, 10, 0, 10)
    planned = utc(2026, 1, 1, 10, 5)
    assert next_fire_after_finish(schedule, planned, finished, 0) == planned
    assert next_fire_after_finish(schedule, planned, finished, 1) == planned  # 10:00:40 < 10:05
    assert next_fire_after_finish(schedule, planned, finished, 3) == finished + timedelta(minutes=5)
    assert next_fire_after_finish(schedule, None, finished, 3) is None


def test_advance_skips_a_stale_backlog() -> None:
    schedule = cron("*/15 * * * *")
    # Beat was down from 10:00 to 16:07: the 10:00 fire runs once, then the next future slot.
    assert advance(schedule, utc(2026, 1, 1, 10), utc(2026, 1, 1, 16, 7)) == utc(2026, 1, 1, 16, 15)
    assert advance(schedule, utc(2026, 1, 1, 10), utc(2026, 1, 1, 9, 59)) == utc(2026, 1, 1, 10, 15)
