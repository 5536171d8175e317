"""A worker runs one run: loads it, checks its gates, starts it, executes it, records the outcome,
and hands the finished run to the post-run pipeline.

Workers never decide schedules. Everything they write is a guarded UPDATE on the run row (``store``),
so a duplicate message, a cancel from another host or a reaper that declared the run crashed all win
or lose cleanly. While the run goes on, the process's heartbeat thread refreshes its liveness in SQL
; when the heartbeat finds the row no longer ``running`` (cancelled),
it tells the executor to stop. Each decision reads the clock once and passes the instant down.

A database blip is retried by the store verbs themselves (``store.retrying``). If the store stays down
while a run is loaded or started, the message goes back to the queue (``Reject(requeue=True)``) instead
of being acknowledged; if it stays down while an outcome is recorded, the run stays ``running`` under
its heartbeat and the outcome is written in the background (``unrecorded``), never left to the reaper.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from celery.exceptions import Reject

from clawsched.sched.coordination import cancels
from clawsched.sched.errors import PoolBusy, RunOverlap
from clawsched.sched.outcomes import Outcome
from clawsched.sched.rules.limits import limits_for
from clawsched.sched.rules.predicates import holds
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import OverlapPolicy, RunStatus
from clawsched.sched.store import finishing, pools, starting
from clawsched.sched.store.finishing import Finalize, Finished
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.retrying import StoreUnavailable
from clawsched.sched.store.starting import Worker
from clawsched.sched.store.tables import utcnow

from . import cancellation, gates, heartbeats, metrics, unrecorded
from .executors.base import ExecutionContext
from .executors.registry import executor_for
from .post_run import pipeline

log = logging.getLogger(__name__)


class Ended(NamedTuple):
    """How one delivery of a run ended here: the status it left the run in (None: a duplicate message, or
    the run vanished) and, when this worker recorded the outcome, the run and job as it left them."""

    status: RunStatus | None
    finished: Finished | None = None


def execute_and_process(rt: Runtime, run_id: str, *, worker_id: str | None = None,
                        queue: str | None = None) -> RunStatus | None:
    """``execute``, then the post-run pipeline in the same process (retries, chains, delivery)."""
    return execute_and_report(rt, run_id, worker_id=worker_id, queue=queue).status


def execute_and_report(rt: Runtime, run_id: str, *, worker_id: str | None = None, queue: str | None = None) -> Ended:
    """``execute_and_process``, with the finished run and job (what the run task reports to Flower).
    ``queue``: the route the message came in on, recorded on the run beside its host and pid."""
    status, done = _execute(rt, run_id, Worker(rt.hostname, rt.pid, worker_id, queue), finalize_inline=True)
    if done is not None:
        if not done.finalized and done.job is not None:
            pipeline.run_steps(rt, done.job, done.run, now=done.run.finished_at or utcnow())
    elif status is not None and status.terminal:
        pipeline.process(rt, run_id, now=utcnow())
    return Ended(status, done)


def execute(rt: Runtime, run_id: str, *, worker_id: str | None = None, queue: str | None = None) -> RunStatus | None:
    """Run ``run_id`` to a terminal state, leaving the post-run pipeline to the ``finished`` callback;
    None when the message was a duplicate or the run vanished."""
    return _execute(rt, run_id, Worker(rt.hostname, rt.pid, worker_id, queue), finalize_inline=False)[0]


def _execute(rt: Runtime, run_id: str, worker: Worker, *,
             finalize_inline: bool) -> tuple[RunStatus | None, Finished | None]:
    now = utcnow()
    worker_id = worker.worker_id
    try:
        loaded = starting.load(rt.store, run_id, free=gates.all_free(gates.GATES), worker=worker, now=now)
    except StoreUnavailable as exc:
        raise _back_to_queue(run_id, exc) from exc
    if loaded is None:
        return None, None
    job, run = loaded.job, loaded.run
    started_at = now
    if not loaded.started:
        try:
            status, started_at = _start(rt, job, run, worker, now)
        except StoreUnavailable as exc:
            raise _back_to_queue(run_id, exc) from exc
        if status != RunStatus.RUNNING:
            metrics.run_ended(job, run, status, started_at=None, hostname=worker_id or rt.hostname,
                              queue=_queue_name(rt, worker))
            return status, None
    run.started_at = started_at
    log.info("run %s of job %s (%s) started", run_id, job.id, job.name)
    status, done = _run(rt, job, run, finalize_inline)
    log.info("run %s of job %s finished: %s", run_id, job.id, status)
    metrics.run_ended(job, done.run if done else run, status, started_at=started_at,
                      hostname=worker_id or rt.hostname, queue=_queue_name(rt, worker))
    return status, done


def _back_to_queue(run_id: str, exc: StoreUnavailable) -> Reject:
    """The store stayed down while the run was loaded or started (each verb retried for
    ``retrying.START``): the message goes back to the queue instead of being acknowledged, so the run is
    tried again as soon as a worker takes it, not when the lost-message pass requeues it minutes later."""
    log.error("run %s: the database is unavailable; its message goes back to the queue (%s)", run_id, exc)
    return Reject(str(exc), requeue=True)


def _start(rt: Runtime, job: Job, run: Run, worker: starting.Worker,
           now: datetime) -> tuple[RunStatus | None, datetime]:
    """The long way to ``running``: gates, the idempotency key, the guarded start (taking a slot of the
    job's pool, if it has one). What the run became (``running`` when this worker started it; None when
    someone else has it), and when.

    The gates are a decision of their own (the gateway's readiness takes time), so the start reads the
    clock again: ``started_at`` is when the run really started.
    """
    blocked = check_gates(rt, job, run, now)
    if blocked is not None:
        return _hold(rt, job, run, blocked, now), now
    starting.ensure_idempotency_key(rt.store, job, run)
    started_at = utcnow()
    try:
        return _take(rt, job, run, worker, started_at), started_at
    except PoolBusy as busy:
        return _hold(rt, job, run, gates.wait_bounded(rt, job, run, str(busy)), started_at), started_at
    except RunOverlap:
        if OverlapPolicy(job.overlap_policy).supersedes:
            return _supersede(rt, job, run, worker, started_at), started_at
        holder = starting.running_exclusive(rt.store, job.id) or "?"
        reason = f"overlap: job is still running (run {holder}); overlap_policy={job.overlap_policy}"
        return _hold(rt, job, run, gates.blocked_by_overlap(rt, job, run, reason), started_at), started_at


def _take(rt: Runtime, job: Job, run: Run, worker: starting.Worker, now: datetime) -> RunStatus | None:
    """The guarded start, taking a slot of the job's pool and concurrency key if it has them."""
    if groups := limits_for(job):
        started = pools.start(rt.store, run.id, limits=groups, created_at=run.created_at, worker=worker, now=now)
    else:
        started = starting.start(rt.store, run.id, worker=worker, now=now)
    return RunStatus.RUNNING if started else None


def _supersede(rt: Runtime, job: Job, run: Run, worker: starting.Worker, now: datetime) -> RunStatus | None:
    """Overlap ``cancel_other`` / ``terminate_other``: cancel the running run. ``terminate_other`` kills
    it at once and starts this run now; ``cancel_other`` lets it stop (SIGTERM, a grace, SIGKILL) and waits
    until its worker has (the ``superseding`` gate), when that worker's pipeline releases this run."""
    policy = OverlapPolicy(job.overlap_policy)
    gone = starting.supersede(rt.store, job.id, by=run.id, policy=policy.value, now=now)
    cancels.announce(rt.redis, rt.settings, gone)
    log.info("run %s of job %s cancelled run(s) %s (overlap_policy=%s)", run.id, job.id, gone, policy)
    if policy is OverlapPolicy.TERMINATE_OTHER:
        try:
            return _take(rt, job, run, worker, now)
        except (RunOverlap, PoolBusy) as exc:  # another run took its place meanwhile: wait like queue
            return _hold(rt, job, run, gates.wait_bounded(rt, job, run, str(exc)), now)
    reason = f"cancelling run {', '.join(gone) or '(already ended)'} (overlap_policy={policy})"
    return _hold(rt, job, run, gates.wait_bounded(rt, job, run, reason), now)


def check_gates(rt: Runtime, job: Job, run: Run, now: datetime) -> gates.Blocked | None:
    for gate in gates.GATES:
        if holds(gate.free, job, run):
            continue
        blocked = gate.check(rt, job, run, now)
        if blocked is not None:
            return blocked
    return None


def _hold(rt: Runtime, job: Job, run: Run, blocked: gates.Blocked, now: datetime) -> RunStatus | None:
    """Record a run that may not start now: back to ``pending`` (it waits), or ``skipped``."""
    if blocked.duplicate:
        log.info("run %s of job %s: duplicate message ignored", run.id, job.id)
        return None
    if blocked.wait:
        retry_in = max(0.25, min(5.0, rt.settings.heartbeat_interval_s * 2))
        starting.defer(rt.store, run.id, not_before=now + timedelta(seconds=retry_in),
                       reason=f"waiting: {blocked.reason}")
        log.info("run %s of job %s waits: %s", run.id, job.id, blocked.reason)
        metrics.run_waited(blocked.reason)
        return RunStatus.PENDING
    status = RunStatus.MISSED if blocked.missed else RunStatus.SKIPPED
    starting.skip(rt.store, run.id, blocked.reason, now=now, status=status)
    log.info("run %s of job %s %s: %s", run.id, job.id, status, blocked.reason)
    return status


def _run(rt: Runtime, job: Job, run: Run, finalize_inline: bool) -> tuple[RunStatus, Finished | None]:
    """Execute, then record the outcome, with the heartbeat watching the run until it is recorded.

    The outcome write retries transient store failures (``retrying.OUTCOME``) while the heartbeat keeps
    the run alive; if the store is still down after that, the outcome goes to this process's background
    writer (``unrecorded``) and the run stays ``running``, heartbeat and all, until it is written: an
    outcome that could not be written is never left for the reaper to close ``crashed`` and replay.
    """
    cancelled = threading.Event()
    beats = heartbeats.service(rt)
    beats.watch(run.id, cancelled)
    kept = False
    try:
        outcome = _execute_watched(rt, job, run, cancelled)
        if cancelled.is_set() and outcome.status != RunStatus.OK:
            return RunStatus.CANCELLED, None  # the row already says cancelled; nothing to write
        beats.recording(run.id)
        now = utcnow()
        values = finishing.columns(run, outcome, now)
        try:
            return _record(rt, job, run, values, now, finalize_inline)
        except StoreUnavailable:
            kept = True
            unrecorded.keep(rt, job, run, values, now)
            return RunStatus.RUNNING, None
    finally:
        if not kept:
            beats.forget(run.id)


def _record(rt: Runtime, job: Job, run: Run, values: dict[str, Any], now: datetime,
            finalize_inline: bool) -> tuple[RunStatus, Finished | None]:
    finalize = pipeline.finalize_when(job, finishing.preview(run, values)) if finalize_inline else Finalize.LATER
    done = finishing.finish_loaded(rt.store, job, run, values, now=now, finalize=finalize)
    if done is None:
        return RunStatus.CANCELLED, None
    return RunStatus(done.run.status), done if finalize_inline else None


def _execute_watched(rt: Runtime, job: Job, run: Run, cancelled: threading.Event) -> Outcome:
    """The executor's outcome, with the cancel channel watching it meanwhile (the heartbeat is ``_run``'s)."""
    cancel_channel = cancellation.listener(rt)
    if cancel_channel is not None:
        cancel_channel.watch(run.id, cancelled)
    ctx = ExecutionContext(settings=rt.settings, store=rt.store, job=job, run=run, cancelled=cancelled,
                           kill_at_once=lambda: starting.killed_at_once(rt.store, run.id))
    try:
        return executor_for(job).execute(ctx)
    except Exception as exc:  # an executor bug must still close the run
        log.exception("executor failed for run %s", run.id)
        return Outcome(RunStatus.ERROR, error_message=f"executor error: {exc}", summary=str(exc)[:500])
    finally:
        if cancel_channel is not None:
            cancel_channel.forget(run.id)



def _queue_name(rt: Runtime, worker: Worker) -> str:
    """The Celery queue the run came from (the metrics' ``queue`` label)."""
    return rt.settings.run_queue(worker.queue) if worker.queue else rt.settings.queue
