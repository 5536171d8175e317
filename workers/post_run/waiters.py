"""Runs waiting for a job that just finished (overlap ``queue``) or for its resource pool become due now,
instead of at their next retry of the gate."""

from __future__ import annotations

from datetime import datetime

from clawsched.sched.coordination.wake import notify
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import OverlapPolicy
from clawsched.sched.store import followups
from clawsched.sched.store.models import Job, Run


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    """Nothing can be waiting on a job that neither queues nor shares a pool."""
    return (job.overlap_policy in (OverlapPolicy.QUEUE.value, OverlapPolicy.CANCEL_OTHER.value)
            or bool(job.resource_pool or job.concurrency_key))


def release_waiters(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    if followups.release_waiters(rt.store, followups.sharing_slots(rt.store, job), now=now):
        notify(rt.redis, rt.settings, "released")
