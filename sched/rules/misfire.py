"""Misfire rules: what the beat does with the fires of a job that came due while it was not looking.

Pure, like ``schedules``: the beat hands in the job's schedule, its misfire policy, the first due instant
(``next_run_at``) and ``now``, and gets back which fires run, which are recorded ``missed`` and why, and
the job's next slot. docs/scheduling.md is the user's description; in short:

* every due slot older than ``starting_deadline_s`` is ``past_deadline``; older than the catch-up window is
  ``outside_window`` (``late`` under ``catchup: none``, whose window defaults to ``ON_TIME_S``);
* of the slots left, ``latest`` runs the newest and records the rest ``coalesced`` (one run for a backlog,
  as before misfire policies existed); ``all`` runs each of the newest ``MAX_REPLAYS`` in order, spaced by
  the replay interval (never a storm), and records older ones ``catchup_limit``; ``none`` runs the newest
  only if it is on time and records every other one ``late``.

A backlog longer than ``SLOT_LIMIT`` slots (a seconds cron after a day's outage) is examined at both ends:
the oldest and the newest ``SLOT_LIMIT`` slots are each recorded, and one record stands for the stretch in
between, saying so, so the claim costs a bounded number of schedule steps and rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.rules.schedules import Schedule
from clawsched.sched.states import Catchup, MissedReason

ON_TIME_S = 60  # catchup none: a fire reached later than this after it was due is missed (unless a window is set)
MAX_REPLAYS = 100  # catchup all: the most fires one claim replays for a job
SLOT_LIMIT = 1000  # due slots examined from each end of a backlog
REPLAY_INTERVAL = timedelta(seconds=1)  # catchup all: the default spacing between replayed fires


@dataclass(frozen=True)
class Policy:
    """A job's misfire policy, read from a ``Job`` row or a ``JobSpec``."""

    catchup: Catchup = Catchup.LATEST
    window_s: int | None = None
    deadline_s: int | None = None

    @classmethod
    def of(cls, job: Any) -> Policy:
        return cls(Catchup(getattr(job, "catchup", None) or Catchup.LATEST.value),
                   getattr(job, "catchup_window_s", None), getattr(job, "starting_deadline_s", None))

    @property
    def window(self) -> timedelta | None:
        if self.window_s is not None:
            return timedelta(seconds=self.window_s)
        return timedelta(seconds=ON_TIME_S) if self.catchup is Catchup.NONE else None


@dataclass(frozen=True)
class Missed:
    """One due slot that does not run, and why (``reason: detail`` is what its run row says)."""

    slot: datetime
    reason: MissedReason
    detail: str

    @property
    def text(self) -> str:
        return f"{self.reason.value}: {self.detail}"


@dataclass(frozen=True)
class FirePlan:
    """What one claim does for one job: ``runs`` oldest first (the first is sent now, each later one
    ``interval`` after the one before), ``missed`` in slot order, and the job's next slot."""

    runs: tuple[datetime, ...]
    missed: tuple[Missed, ...]
    upcoming: datetime | None


def due_slots(schedule: Schedule, first: datetime, now: datetime, limit: int = SLOT_LIMIT
              ) -> tuple[list[datetime], tuple[datetime, datetime] | None, datetime | None]:
    """The slots from ``first`` up to ``now``; the stretch left out when there were more than ``2 * limit``
    (``(stand_in, until)``: the slot that stands for it, kept in the list, and the instant it ends; None
    when nothing was left out); and the first slot after ``now``."""
    slots, upcoming = _walk(schedule, first, now, limit)
    if upcoming is None or upcoming > now:
        return slots, None, upcoming
    skip_to = max(upcoming, now - (slots[-1] - slots[0]))  # about ``limit`` slots before now, if regular
    tail, after = _walk(schedule, skip_to, now, limit, include_first=False)
    return [*slots, upcoming, *tail], (upcoming, tail[0] if tail else now), after


def _walk(schedule: Schedule, start: datetime, now: datetime, limit: int, *,
          include_first: bool = True) -> tuple[list[datetime], datetime | None]:
    slots = [start] if include_first else []
    nxt = schedule.next_after(start)
    while nxt is not None and nxt <= now and len(slots) < limit:
        slots.append(nxt)
        nxt = schedule.next_after(nxt)
    return slots, nxt


def plan(schedule: Schedule, policy: Policy, first: datetime, now: datetime) -> FirePlan:
    """The fires one claim runs and records for a job first due at ``first`` (rules in the docstring)."""
    slots, gap, upcoming = due_slots(schedule, first, now)
    gap_start = gap[0] if gap is not None else None
    outside = {s: m for s in slots if (m := _outside(policy, s, now)) is not None}
    eligible = [s for s in slots if s not in outside and s != gap_start]
    if policy.catchup is Catchup.ALL:
        runs = eligible[-MAX_REPLAYS:]
    elif policy.catchup is Catchup.NONE:
        runs = eligible[-1:] if eligible and eligible[-1] == slots[-1] else []
    else:
        runs = eligible[-1:]
    chosen = set(runs)
    missed = []
    for slot in slots:
        if slot in chosen:
            continue
        found = outside.get(slot) or _not_chosen(policy, slot, runs)
        if gap is not None and slot == gap_start:
            found = Missed(slot, found.reason, f"{found.detail}; this record stands for every slot after it "
                                               f"until {_iso(gap[1])} (too many to record one by one)")
        missed.append(found)
    return FirePlan(tuple(runs), tuple(missed), upcoming)


def _outside(policy: Policy, slot: datetime, now: datetime) -> Missed | None:
    late = now - slot
    if policy.deadline_s is not None and late > timedelta(seconds=policy.deadline_s):
        return Missed(slot, MissedReason.PAST_DEADLINE, f"due {_iso(slot)}, reached {_secs(late)} late; "
                                                        f"starting_deadline_s is {policy.deadline_s}")
    window = policy.window
    if window is not None and late > window:
        if policy.catchup is Catchup.NONE:
            return Missed(slot, MissedReason.LATE, f"due {_iso(slot)}, reached {_secs(late)} late (the scheduler "
                                                   f"was down or behind); catchup is none")
        return Missed(slot, MissedReason.OUTSIDE_WINDOW, f"due {_iso(slot)}, reached {_secs(late)} late; "
                                                         f"catchup_window_s is {window.total_seconds():g}")
    return None


def _not_chosen(policy: Policy, slot: datetime, runs: list[datetime]) -> Missed:
    if policy.catchup is Catchup.ALL:
        return Missed(slot, MissedReason.CATCHUP_LIMIT, f"due {_iso(slot)}; catchup all replays the newest "
                                                        f"{MAX_REPLAYS} missed fires only")
    if policy.catchup is Catchup.NONE or not runs:
        return Missed(slot, MissedReason.LATE, f"due {_iso(slot)}, not run: catchup is none")
    return Missed(slot, MissedReason.COALESCED, f"due {_iso(slot)}; folded into the run of {_iso(runs[-1])} "
                                                "(catchup latest)")


def start_too_late(job: Any, run: Any, now: datetime) -> Missed | None:
    """Why a run about to start on a worker is missed instead: a scheduled fire past ``starting_deadline_s``
    of its slot, or any run waiting longer than ``schedule_to_start_s`` since it was created."""
    deadline, wait = getattr(job, "starting_deadline_s", None), getattr(job, "schedule_to_start_s", None)
    slot = run.scheduled_for if run.trigger == "schedule" else None
    if deadline is not None and slot is not None and now - slot > timedelta(seconds=deadline):
        return Missed(slot, MissedReason.PAST_DEADLINE, f"due {_iso(slot)}, could not start until "
                                                        f"{_secs(now - slot)} later; starting_deadline_s is {deadline}")
    if wait is not None and now - run.created_at > timedelta(seconds=wait):
        return Missed(slot or run.created_at, MissedReason.NOT_STARTED,
                      f"queued {_iso(run.created_at)}, not started within schedule_to_start_s ({wait}); "
                      f"waited {_secs(now - run.created_at)}")
    return None


def replay_times(plan_: FirePlan, now: datetime, interval: timedelta = REPLAY_INTERVAL) -> list[datetime]:
    """When each run of a plan is released: the first now, each next one ``interval`` later."""
    return [now + i * interval for i in range(len(plan_.runs))]


def _iso(instant: datetime | None) -> str:
    return "-" if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _secs(delta: timedelta) -> str:
    return f"{delta.total_seconds():.0f}s"
