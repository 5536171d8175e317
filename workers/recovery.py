"""Crash recovery and upkeep: stale runs, crash replays, approval timeouts, waiting runs, pruning.

Maintenance passes run from every beat's ``clawsched.maintenance`` entry; each is a guarded UPDATE or
an idempotent insert, so several beats may run them at once. A run whose worker stopped heartbeating
for ``stale_after_s`` is closed as ``crashed`` and its post-run pipeline runs here: ``at-least-once``
jobs get one replay run (``replay_of`` is UNIQUE), ``at-most-once`` jobs none.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from clawsched.sched import approvals, jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import TERMINAL, RunStatus, Trigger
from clawsched.sched.store.models import Job, Run, utcnow
from clawsched.workers import pipeline
from clawsched.workers.maintenance import task
from clawsched.workers.pipeline import step

log = logging.getLogger(__name__)


@task("reap_stale")
def reap_stale(rt: Runtime, app: Any) -> int:
    """Running runs whose heartbeat is older than ``stale_after_s`` -> ``crashed``, then their pipeline."""
    now = utcnow()
    cutoff = now - timedelta(seconds=rt.settings.stale_after_s)
    reaped = 0
    for run in runs.stale(rt.store, rt.settings.stale_after_s, now=now):
        reason = (f"worker stopped heartbeating (host {run.hostname}, pid {run.pid}, last heartbeat "
                  f"{run.last_heartbeat.isoformat() if run.last_heartbeat else '-'})")
        if runs.crash(rt.store, run.id, stale_before=cutoff, reason=reason, now=now) is None:
            continue
        reaped += 1
        log.warning("run %s of job %s crashed: %s", run.id, run.job_id, reason)
        pipeline.process(rt, run.id)
    return reaped


@step("replays", order=90, idle=lambda job, run, has_children: run.status != RunStatus.CRASHED.value)
def replay_crashed(rt: Runtime, job: Job, run: Run) -> None:
    """An ``at-least-once`` job's crashed run is run again, carrying the original's idempotency key."""
    if run.status != RunStatus.CRASHED.value:
        return
    with rt.store.read() as s:
        earlier = runs.replays_before(s, run)
    if not runs.will_replay(job, run, earlier):
        log.info("run %s of job %s crashed; not replayed (%s)", run.id, job.id, job.delivery_guarantee)
        return
    values = runs.new_run(
        job, trigger=Trigger.REPLAY, now=utcnow(), status=RunStatus.PENDING, replay_of=run.id,
        retry_count=run.retry_count, trigger_context=run.trigger_context, chain_depth=run.chain_depth,
        idempotency_key=run.idempotency_key or runs.idempotency_key(job.id, run),
    )
    try:
        with rt.store.session() as s:
            s.execute(insert(Run), [values])
    except IntegrityError:
        return
    log.warning("crashed run %s of job %s replayed as run %s (at-least-once)", run.id, job.id, values["id"])
    notify(rt.redis, rt.settings, "replay")


@step("release_waiters", order=50,
      idle=lambda job, run, has_children: job.overlap_policy != "queue" and not job.resource_pool)
def release_waiters(rt: Runtime, job: Job, run: Run) -> None:
    """Runs waiting for this job (overlap ``queue``) or its resource pool become due now."""
    if job.overlap_policy != "queue" and not job.resource_pool:
        return  # nothing can be waiting on a job that neither queues nor shares a pool
    with rt.store.read() as s:
        ids = [job.id]
        if job.resource_pool:
            ids = list(s.scalars(select(Job.id).where(Job.resource_pool == job.resource_pool)))
    if runs.release_waiters(rt.store, ids):
        notify(rt.redis, rt.settings, "released")


@task("expire_approvals")
def expire_approvals(rt: Runtime, app: Any) -> int:
    done = approvals.expire_due(rt.store)
    if any(a.status == "approved" for a in done):
        notify(rt.redis, rt.settings, "approval timeout")
    return len(done)


PRUNE_BUDGET_S = 10.0  # of one prune pass's deleting


@task("prune")
def prune(rt: Runtime, app: Any) -> int:
    """``ttl_hours`` jobs and run history past ``run_retention_days``; at most once per prune interval."""
    interval_ms = max(1, int(rt.settings.prune_interval_s * 1000))
    if not rt.redis.set(rt.settings.key("prune"), "1", nx=True, px=interval_ms):
        return 0
    removed = jobs.prune_expired(rt.store)
    if rt.settings.run_retention_days > 0:
        removed += prune_runs(rt, utcnow() - timedelta(days=rt.settings.run_retention_days))
    return removed


def prune_runs(rt: Runtime, older_than: Any, batch: int = 1000, budget_s: float = PRUNE_BUDGET_S) -> int:
    """Delete finished, finalised runs created before ``older_than`` (approvals and deliveries cascade).

    Batch after batch until none is left or the pass has spent ``budget_s`` (the next pass goes on): one
    batch per pass would prune 1 000 runs per prune interval, far fewer than a busy fleet records.
    """
    removed, deadline = 0, time.monotonic() + budget_s
    while True:
        with rt.store.session() as s:
            ids = list(s.scalars(
                select(Run.id).where(Run.created_at < older_than, Run.status.in_([t.value for t in TERMINAL]),
                                     Run.finalized_at.is_not(None)).limit(batch)
            ))
            if ids:
                s.execute(delete(Run).where(Run.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch or time.monotonic() >= deadline:
            break
    if removed:
        log.info("pruned %d runs created before %s", removed, older_than)
    return removed
