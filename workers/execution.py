"""A worker runs one run: checks gates, takes leases, marks it running, executes, records the outcome.

Workers never decide schedules. Everything they write is a guarded UPDATE on the run row, so a
duplicate message, a cancel from another host or a reaper that declared the run crashed all win or
lose cleanly. While the run goes on, a heartbeat thread refreshes the run's liveness in SQL and
renews its leases in Redis; when the heartbeat finds the row no longer ``running`` (cancelled), it
tells the executor to stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, not_, or_, select

from clawsched.sched import runs
from clawsched.sched.coordination.leases import Lease
from clawsched.sched.errors import RunOverlap
from clawsched.sched.runs import Outcome
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import DeliveryGuarantee, OverlapPolicy, RunStatus, Trigger
from clawsched.sched.store.models import JOBS, RUNS, Job, Run, detached, run_has_status, utcnow
from clawsched.workers import cancellation, heartbeats, pipeline, plugins
from clawsched.workers.executors import executor_for
from clawsched.workers.executors.base import ExecutionContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Blocked:
    """Why a run may not start now. ``wait``: put it back as ``pending`` (overlap ``queue``, a busy pool);
    otherwise it is recorded as ``skipped`` with the reason. ``duplicate``: another copy of this very
    message holds the run; do nothing."""

    reason: str
    wait: bool = False
    duplicate: bool = False


GateResult = str | Blocked | None


@dataclass
class Gate:
    """A check made before a run starts: None lets the run go on, a str (or ``Blocked``) stops it.

    ``free``: a SQL condition on the job's and run's columns under which ``check`` passes with nothing
    to do (no lease, no call). When every gate has one, PostgreSQL loads and starts a run whose gates
    are all free in one statement (``_load``); a gate without one makes every run take the long way.
    """

    name: str
    check: Callable[[Runtime, Job, Run, list[Lease]], GateResult]
    free: ColumnElement[bool] | None = None


GATES: list[Gate] = []
_ONE_TRIP: dict[tuple[str, ...], Select[Any]] = {}  # _load_and_start's statement for the gates registered


def gate(name: str, *, free: ColumnElement[bool] | None = None
         ) -> Callable[[Callable[[Runtime, Job, Run, list[Lease]], GateResult]], Callable[..., GateResult]]:
    def register(fn: Callable[[Runtime, Job, Run, list[Lease]], GateResult]) -> Callable[..., GateResult]:
        GATES[:] = [g for g in GATES if g.name != name]
        GATES.append(Gate(name, fn, free))
        _ONE_TRIP.clear()
        return fn

    return register


def _take(rt: Runtime, key: str, run: Run, leases: list[Lease]) -> str | None:
    """Take a lease for the run; None when taken, else the holder (the run itself for a duplicate)."""
    lease = Lease(rt.redis, key, run.id, rt.settings.lease_ttl_s)
    if lease.acquire():
        leases.append(lease)
        return None
    return lease.holder() or "?"


def _blocked(rt: Runtime, job: Job, run: Run, reason: str) -> Blocked:
    """Wait (``queue``) or skip, by the job's overlap policy."""
    if job.overlap_policy != OverlapPolicy.QUEUE.value:
        return Blocked(reason)
    return wait_bounded(rt, job, run, reason)


def wait_bounded(rt: Runtime, job: Job, run: Run, reason: str) -> Blocked:
    """Wait, unless ``max_queued_dispatches`` other runs of the job already wait: then skip."""
    if run.skip_reason is None and runs.waiting_count(rt.store, job.id, besides=run.id) >= job.max_queued_dispatches:
        return Blocked(f"{reason}; queue limit reached ({job.max_queued_dispatches} waiting)")
    return Blocked(reason, wait=True)


@gate("disabled", free=or_(JOBS.c.enabled, and_(RUNS.c.trigger != Trigger.CHAIN.value,
                                                 RUNS.c.trigger != Trigger.RETRY.value)))
def _disabled(rt: Runtime, job: Job, run: Run, leases: list[Lease]) -> GateResult:
    """A retry or chain run of a job disabled since it was created does not start (manual runs do)."""
    if not job.enabled and run.trigger in (Trigger.CHAIN.value, Trigger.RETRY.value):
        return Blocked(f"job {job.id} is disabled")
    return None


@gate("resource_pool", free=func.coalesce(JOBS.c.resource_pool, "") == "")
def _pool(rt: Runtime, job: Job, run: Run, leases: list[Lease]) -> GateResult:
    """One run at a time per pool, across every worker: a Redis lease renewed by the heartbeat."""
    if not job.resource_pool:
        return None
    return _lease_gate(rt, job, run, leases, rt.settings.key("lease", "pool", job.resource_pool),
                       lambda holder: f"resource_pool {job.resource_pool!r} busy (run {holder})")


def _lease_gate(rt: Runtime, job: Job, run: Run, leases: list[Lease], key: str,
                busy: Callable[[str], str]) -> GateResult:
    """Pass when the run takes the lease; a duplicate message when it already holds it; else wait or skip."""
    holder = _take(rt, key, run, leases)
    if holder is None:
        return None
    if holder == run.id:
        return Blocked("duplicate message", duplicate=True)
    return _blocked(rt, job, run, busy(holder))


def execute_and_process(rt: Runtime, run_id: str, *, worker_id: str | None = None) -> RunStatus | None:
    """``execute``, then the post-run pipeline in the same process (retries, chains, delivery)."""
    finished: list[runs.Finished] = []
    status = execute(rt, run_id, worker_id=worker_id, finished=finished)
    if finished:
        done = finished[0]
        if not done.finalized and done.job is not None:
            pipeline.run_steps(rt, done.job, done.run)
    elif status is not None and status.terminal:
        pipeline.process(rt, run_id)
    return status


def execute(rt: Runtime, run_id: str, *, worker_id: str | None = None,
            finished: list[runs.Finished] | None = None) -> RunStatus | None:
    """Run ``run_id`` to a terminal state; None when the message was a duplicate or the run vanished.

    ``finished`` receives the rows as the outcome left them, for a caller that goes on to the post-run
    pipeline without reading them again. A run whose pipeline has nothing to do is finalised as its
    outcome is recorded.
    """
    plugins.load()
    started_at = utcnow()
    loaded = _load(rt, run_id, worker_id, started_at)
    if loaded is None:
        return None
    job, run, started = loaded
    leases: list[Lease] = []
    try:
        if not started:
            blocked = _check_gates(rt, job, run, leases)
            if blocked is not None:
                return _hold(rt, job, run, blocked)
            runs.ensure_idempotency_key(rt.store, job, run)
            started_at = utcnow()
            try:
                if not runs.start(rt.store, run_id, hostname=rt.hostname, pid=rt.pid, worker_id=worker_id,
                                  now=started_at):
                    return None
            except RunOverlap:
                return _hold(rt, job, run, _overlapping(rt, job, run))
        run.started_at = started_at
        log.info("run %s of job %s (%s) started", run_id, job.id, job.name)
        status = _run(rt, job, run, leases, finished)
        log.info("run %s of job %s finished: %s", run_id, job.id, status)
        return status
    finally:
        for lease in leases:
            try:
                lease.release()
            except Exception:
                log.exception("could not release lease %s; it will expire", lease.key)


def _overlapping(rt: Runtime, job: Job, run: Run) -> Blocked:
    """Another run of the job holds it (overlap_policy skip or queue: ``runs.start``)."""
    holder = runs.running_exclusive(rt.store, job.id) or "?"
    return _blocked(rt, job, run, f"overlap: job is still running (run {holder}); overlap_policy={job.overlap_policy}")


def _check_gates(rt: Runtime, job: Job, run: Run, leases: list[Lease]) -> Blocked | None:
    for g in GATES:
        result = g.check(rt, job, run, leases)
        if result is not None:
            return result if isinstance(result, Blocked) else Blocked(result)
    return None


def _hold(rt: Runtime, job: Job, run: Run, blocked: Blocked) -> RunStatus | None:
    """Record a run that may not start now: back to ``pending`` (it waits), or ``skipped``."""
    if blocked.duplicate:
        log.info("run %s of job %s: duplicate message ignored", run.id, job.id)
        return None
    if blocked.wait:
        retry_in = max(0.25, min(5.0, rt.settings.heartbeat_interval_s * 2))
        due = utcnow() + timedelta(seconds=retry_in)
        runs.defer(rt.store, run.id, not_before=due, reason=f"waiting: {blocked.reason}")
        log.info("run %s of job %s waits: %s", run.id, job.id, blocked.reason)
        return RunStatus.PENDING
    runs.skip(rt.store, run.id, blocked.reason)
    log.info("run %s of job %s skipped: %s", run.id, job.id, blocked.reason)
    return RunStatus.SKIPPED


_LOAD = (
    select(*JOBS.c, *(c.label(f"run_{c.name}") for c in RUNS.c))
    .join_from(JOBS, RUNS, RUNS.c.job_id == JOBS.c.id)
    .where(RUNS.c.id == bindparam("b_run_id"), run_has_status(RunStatus.QUEUED.value))
)
NEEDS_KEY = and_(JOBS.c.delivery_guarantee == DeliveryGuarantee.AT_LEAST_ONCE.value, RUNS.c.idempotency_key.is_(None))


def _load_and_start(free: list[ColumnElement[bool]]) -> Select[Any]:
    """PostgreSQL: the queued run and its job, started by the same statement when every gate is free.

    The guarded start (``runs.start``'s UPDATE, joined to the job) is a data-modifying CTE; the
    SELECT reads the rows as they were before it, and ``started`` says whether it matched. A run
    that some gate has to look at comes back unstarted and takes the long way. One round trip
    instead of two for the common run.
    """
    started = (runs.START.where(JOBS.c.id == RUNS.c.job_id, *free, not_(NEEDS_KEY))
               .returning(RUNS.c.id).cte("started"))
    return _LOAD.add_columns(exists(select(started.c.id)).label("started"))


def _load(rt: Runtime, run_id: str, worker_id: str | None, now: datetime) -> tuple[Job, Run, bool] | None:
    """The queued run and its job as detached rows, and whether it was started on the way (once per run)."""
    direct = rt.store.direct
    free = [g.free for g in GATES if g.free is not None]
    one_trip = rt.store.dialect == "postgresql" and len(free) == len(GATES)
    if one_trip:
        names = tuple(g.name for g in GATES)
        statement = _ONE_TRIP.get(names)
        if statement is None:
            statement = _ONE_TRIP[names] = _load_and_start(free)
        try:
            row = direct.first_values(statement, {"b_run_id": run_id, "b_now": now, "v_hostname": rt.hostname,
                                                  "v_pid": rt.pid, "v_worker_id": worker_id})
        except direct.integrity_errors:  # another run of the job is running: ``execute`` takes the long way
            one_trip, row = False, direct.first_values(_LOAD, {"b_run_id": run_id})
    else:
        row = direct.first_values(_LOAD, {"b_run_id": run_id})
    if row is None:
        return None
    split, end = len(runs.JOB_COLUMNS), len(runs.JOB_COLUMNS) + len(runs.RUN_COLUMNS)
    job = detached(Job, zip(runs.JOB_COLUMNS, row[:split], strict=True))
    run = detached(Run, zip(runs.RUN_COLUMNS, row[split:end], strict=True))
    return job, run, bool(one_trip and row[end])


def _run(rt: Runtime, job: Job, run: Run, leases: list[Lease],
         finished: list[runs.Finished] | None = None) -> RunStatus:
    cancelled = threading.Event()
    beats = heartbeats.service(rt)
    beats.watch(run.id, leases, cancelled)
    cancel_channel = cancellation.listener(rt)
    if cancel_channel is not None:
        cancel_channel.watch(run.id, cancelled)
    ctx = ExecutionContext(settings=rt.settings, job=job, run=run, cancelled=cancelled)
    try:
        outcome = executor_for(job).execute(ctx)
    except Exception as exc:  # an executor bug must still close the run
        log.exception("executor failed for run %s", run.id)
        outcome = Outcome(RunStatus.ERROR, error_message=f"executor error: {exc}", summary=str(exc)[:500])
    finally:
        beats.forget(run.id)
        if cancel_channel is not None:
            cancel_channel.forget(run.id)
    if cancelled.is_set() and outcome.status != RunStatus.OK:
        return RunStatus.CANCELLED  # the row already says cancelled; nothing to write
    done = runs.finish_loaded(rt.store, job, run, outcome, now=utcnow(),
                              settled=pipeline.idle if finished is not None else None)
    if done is None:
        return RunStatus.CANCELLED
    if finished is not None:
        finished.append(done)
    return RunStatus(done.run.status)
