"""A dispatched session's turn ended: keep its reply, end the dispatch (unless ``done`` did), and let
the dispatch watcher deliver its summary now rather than at its next pass."""

from __future__ import annotations

from datetime import datetime

from clawsched.sched import dispatches
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.models import Job, Run

from ..upkeep.dispatch_watch import dispatch_watch


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return (job.origin or "").startswith("dispatch:")


def record_turn(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    dispatches.record_turn(rt.store, run, now=now)
    dispatch_watch(rt, now=now)
