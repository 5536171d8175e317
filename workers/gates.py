"""The checks a run passes before it starts, listed in one place (``GATES``).

Each gate has one ``free`` condition (``rules.predicates``): where it holds, the gate has nothing to
do, and ``check`` is not called. The same condition, as SQL, lets PostgreSQL load and start a run that
no gate needs to look at in one statement. ``check`` returns None to let the run go on, or a
``Blocked`` saying whether it waits (back to ``pending``) or is skipped.

A resource pool is not a gate: its slot is taken by the start itself (``store.pools``), so the check and
the taking cannot be separated by another worker's start. A busy pool makes the run wait, bounded like
overlap ``queue`` (``wait_bounded``), whatever triggered it: a chain step or a retry is never dropped.

**Gateway-down rule.** An agent run asks the gateway's ``/readyz`` (cached for 2 s). When it is not
ready, nothing is sent: an ``isolated`` or ``session:<id>`` run waits (``waiting: gateway
unavailable``), at most ``max_queued_dispatches`` runs of a job at once and for at most
``CLAWSCHED_GATEWAY_DEFER_S`` since it was due, then it is skipped; a ``main`` run (a wake event,
worth little once late) is skipped at once. Shell runs never pass through this gate.

**Deadline rule.** A job with ``starting_deadline_s`` or ``schedule_to_start_s`` has each run checked
before anything else is taken: one too late to start is recorded ``missed`` with the reason
(``rules.misfire.start_too_late``), never started late.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clawsched.sched.rules import budgets, misfire, pausing
from clawsched.sched.rules.predicates import AllOf, AnyOf, Condition, Equals, IsNull, IsTrue, NotIn, job, run
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import OverlapPolicy, SessionTarget, Trigger
from clawsched.sched.store import budgets as store_budgets
from clawsched.sched.store import starting
from clawsched.sched.store.models import Job, Run

from . import metrics
from .gateway.client import client_for

AGENT_TARGETS = (SessionTarget.ISOLATED.value, SessionTarget.MAIN.value, SessionTarget.SESSION.value)
GATEWAY_UNAVAILABLE = "gateway unavailable"


@dataclass(frozen=True)
class Blocked:
    """Why a run may not start now. ``wait``: put it back as ``pending`` (overlap ``queue``, a busy pool);
    otherwise it is recorded as ``skipped`` (``missed`` when too late) with the reason. ``duplicate``:
    another copy of this very message holds the run; do nothing."""

    reason: str
    wait: bool = False
    duplicate: bool = False
    missed: bool = False  # recorded ``missed`` rather than ``skipped``: it is too late to start at all


Check = Callable[[Runtime, Job, Run, datetime], Blocked | None]


@dataclass(frozen=True)
class Gate:
    name: str
    free: Condition
    check: Check


def wait_bounded(rt: Runtime, job_row: Job, run_row: Run, reason: str) -> Blocked:
    """Wait, unless ``max_queued_dispatches`` other runs of the job already wait: then skip."""
    if run_row.skip_reason is None and (starting.waiting_count(rt.store, job_row.id, besides=run_row.id)
                                        >= job_row.max_queued_dispatches):
        return Blocked(f"{reason}; queue limit reached ({job_row.max_queued_dispatches} waiting)")
    return Blocked(reason, wait=True)


def blocked_by_overlap(rt: Runtime, job_row: Job, run_row: Run, reason: str) -> Blocked:
    """Wait (``queue``) or skip, by the job's overlap policy."""
    if job_row.overlap_policy != OverlapPolicy.QUEUE.value:
        return Blocked(reason)
    return wait_bounded(rt, job_row, run_row, reason)


def _disabled(rt: Runtime, job_row: Job, run_row: Run, now: datetime) -> Blocked | None:
    """A retry or chain run of a job disabled since it was created does not start (manual runs do)."""
    return Blocked(f"job {job_row.id} is disabled")


def _deadline(rt: Runtime, job_row: Job, run_row: Run, now: datetime) -> Blocked | None:
    """Too late to start: past ``starting_deadline_s`` of its slot or ``schedule_to_start_s`` of its queueing."""
    late = misfire.start_too_late(job_row, run_row, now)
    return None if late is None else Blocked(late.text, missed=True)


def _paused(rt: Runtime, job_row: Job, run_row: Run, now: datetime) -> Blocked | None:
    """A run of a paused job that was on its way when the pause began is skipped (manual runs go)."""
    if not pausing.is_paused(job_row.paused_at, job_row.paused_until, now):
        return None  # the pause ran out: the upkeep pass has not cleared it yet
    return Blocked(f"job {job_row.id} is paused by {job_row.paused_by}: {job_row.paused_reason}")


def _superseding(rt: Runtime, job_row: Job, run_row: Run, now: datetime) -> Blocked | None:
    """Overlap ``cancel_other``: a run that cancelled the running one starts once that one's worker has
    stopped it (SIGTERM, its grace, SIGKILL) and finalised it; at most ``stale_after_s`` after the cancel."""
    since = now - timedelta(seconds=rt.settings.stale_after_s)
    left = starting.stopping(rt.store, job_row.id, by=run_row.id, since=since)
    return wait_bounded(rt, job_row, run_row, f"cancelling run {', '.join(left)} "
                        f"(overlap_policy={job_row.overlap_policy})") if left else None


def _budget(rt: Runtime, job_row: Job, run_row: Run, now: datetime) -> Blocked | None:
    """A run that would go past the job's budget in this window is skipped, with the reason."""
    windows = budgets.Windows.at(now)
    used, started = store_budgets.spent(rt.store, job_row.id, day=windows.day, hour=windows.hour)
    over = budgets.exceeded(job_row.budget or {}, windows, used, started)
    if over is None:
        return None
    metrics.budget_skipped(over.limit)
    return Blocked(over.reason)


def _gateway(rt: Runtime, job_row: Job, run_row: Run, now: datetime) -> Blocked | None:
    """The gateway-down rule (module docstring)."""
    if client_for(rt.settings).ready():
        return None
    if job_row.session_target == SessionTarget.MAIN.value:
        return Blocked(GATEWAY_UNAVAILABLE)
    limit = rt.settings.gateway_defer_s
    waited = (now - (run_row.scheduled_for or run_row.created_at)).total_seconds()
    if waited >= limit:
        return Blocked(f"{GATEWAY_UNAVAILABLE} for over {limit:g}s")
    return wait_bounded(rt, job_row, run_row, GATEWAY_UNAVAILABLE)


GATES: tuple[Gate, ...] = (
    Gate("disabled", AnyOf((IsTrue(job("enabled")), NotIn(run("trigger"), (Trigger.CHAIN.value, Trigger.RETRY.value)))),
         _disabled),
    Gate("paused", AnyOf((IsNull(job("paused_at")), Equals(run("trigger"), Trigger.MANUAL.value))), _paused),
    Gate("deadline", AllOf((IsNull(job("starting_deadline_s")), IsNull(job("schedule_to_start_s")))), _deadline),
    Gate("superseding", NotIn(job("overlap_policy"), (OverlapPolicy.CANCEL_OTHER.value,)), _superseding),
    Gate("budget", IsNull(job("budget")), _budget),
    Gate("gateway", NotIn(job("session_target"), AGENT_TARGETS), _gateway),
)


def all_free(gates: tuple[Gate, ...]) -> Condition:
    """The condition under which none of ``gates`` has anything to do."""
    return AllOf(tuple(g.free for g in gates))
