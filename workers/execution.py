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
from dataclasses import dataclass, field

from clawsched.sched import runs
from clawsched.sched.leases import Lease
from clawsched.sched.models import Job, Run, utcnow
from clawsched.sched.runs import Outcome
from clawsched.sched.states import OverlapPolicy, RunStatus

from . import plugins
from .executors import executor_for
from .executors.base import ExecutionContext
from .runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class Gate:
    """A check made before a run starts; returns a skip reason, or None to let the run go on."""

    name: str
    check: Callable[[Runtime, Job, Run, list[Lease]], str | None]


GATES: list[Gate] = []


def gate(name: str) -> Callable[[Callable[[Runtime, Job, Run, list[Lease]], str | None]], Callable[..., str | None]]:
    def register(fn: Callable[[Runtime, Job, Run, list[Lease]], str | None]) -> Callable[..., str | None]:
        GATES.append(Gate(name, fn))
        return fn

    return register


@gate("overlap")
def _overlap(rt: Runtime, job: Job, run: Run, leases: list[Lease]) -> str | None:
    if job.overlap_policy == OverlapPolicy.ALLOW.value:
        return None
    lease = Lease(rt.redis, rt.settings.key("lease", "job", job.id), run.id, rt.settings.lease_ttl_s)
    if not lease.acquire():
        return f"overlap: job is still running (run {lease.holder()}); overlap_policy={job.overlap_policy}"
    leases.append(lease)
    return None


@dataclass
class _Heartbeat:
    rt: Runtime
    run_id: str
    leases: list[Lease]
    cancelled: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name=f"heartbeat-{self.run_id[:8]}", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        interval = self.rt.settings.heartbeat_interval_s
        while not self.stopped.wait(interval):
            try:
                if not runs.heartbeat(self.rt.store, self.run_id):
                    log.info("run %s is no longer running (cancelled or reaped); stopping it", self.run_id)
                    self.cancelled.set()
                    return
                for lease in self.leases:
                    lease.renew()
            except Exception:  # a missed beat is survivable; the next one retries
                log.exception("heartbeat of run %s failed", self.run_id)


def execute(rt: Runtime, run_id: str, *, worker_id: str | None = None) -> RunStatus | None:
    """Run ``run_id`` to a terminal state; None when the message was a duplicate or the run vanished."""
    plugins.load()
    loaded = _load(rt, run_id)
    if loaded is None:
        return None
    job, run = loaded
    leases: list[Lease] = []
    try:
        for g in GATES:
            reason = g.check(rt, job, run, leases)
            if reason is not None:
                runs.skip(rt.store, run_id, reason)
                log.info("run %s of job %s skipped: %s", run_id, job.id, reason)
                return RunStatus.SKIPPED
        if not runs.start(rt.store, run_id, hostname=rt.hostname, pid=rt.pid, worker_id=worker_id):
            return None
        log.info("run %s of job %s (%s) started", run_id, job.id, job.name)
        status = _run(rt, job, run, leases)
        log.info("run %s of job %s finished: %s", run_id, job.id, status)
        return status
    finally:
        for lease in leases:
            try:
                lease.release()
            except Exception:
                log.exception("could not release lease %s; it will expire", lease.key)


def _load(rt: Runtime, run_id: str) -> tuple[Job, Run] | None:
    with rt.store.read() as s:
        run = s.get(Run, run_id)
        if run is None or run.status != RunStatus.QUEUED.value:
            return None
        job = s.get(Job, run.job_id)
        return (job, run) if job is not None else None


def _run(rt: Runtime, job: Job, run: Run, leases: list[Lease]) -> RunStatus:
    beat = _Heartbeat(rt, run.id, leases)
    thread = beat.start()
    ctx = ExecutionContext(settings=rt.settings, job=job, run=run, cancelled=beat.cancelled)
    try:
        outcome = executor_for(job).execute(ctx)
    except Exception as exc:  # an executor bug must still close the run
        log.exception("executor failed for run %s", run.id)
        outcome = Outcome(RunStatus.ERROR, error_message=f"executor error: {exc}", summary=str(exc)[:500])
    finally:
        beat.stopped.set()
        thread.join(timeout=5)
    if beat.cancelled.is_set() and outcome.status != RunStatus.OK:
        return RunStatus.CANCELLED  # the row already says cancelled; nothing to write
    finished = runs.finish(rt.store, run.id, outcome, now=utcnow())
    return RunStatus(finished.status) if finished is not None else RunStatus.CANCELLED
