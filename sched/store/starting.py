"""Starting a run: load it with its job, start it (queued -> running), or hold it (skip, defer).

Every write is a guarded UPDATE on the run's current status, so a duplicate message, a cancel from
another host or a reaper all win or lose cleanly. These run once per run on the worker's hot path, on
the thread's own DBAPI connection (``dbapi``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, select, true, update

from clawsched.sched.errors import RunOverlap
from clawsched.sched.rules import idempotency
from clawsched.sched.rules.predicates import AllOf, Blank, Condition, Equals, IsNull, Not, job, run
from clawsched.sched.states import DeliveryGuarantee, OverlapPolicy, RunStatus

from . import retrying
from .engine import Store
from .models import Job, Run, detached
from .predicates import to_sql
from .run_rows import JOB_COLUMNS, RUN_COLUMNS
from .tables import JOBS, RUNS, UTCDateTime, run_has_status

KEY_READY: Condition = Not(AllOf((Equals(job("delivery_guarantee"), DeliveryGuarantee.AT_LEAST_ONCE.value),
                                  IsNull(run("idempotency_key")))))
"""An at-least-once run gets its idempotency key before it starts (``ensure_idempotency_key``)."""
NO_LIMITS: Condition = AllOf((Blank(job("resource_pool")), Blank(job("concurrency_key"))))
"""A run with a pool or a concurrency key takes its slots as it starts, in a transaction of its own
(``store.pools``)."""


@dataclass(frozen=True)
class Worker:
    """Who starts a run: recorded on the row."""

    hostname: str
    pid: int
    worker_id: str | None = None
    queue: str | None = None  # the route the message came in on

    def params(self) -> dict[str, Any]:
        return {"v_hostname": self.hostname, "v_pid": self.pid, "v_worker_id": self.worker_id, "v_queue": self.queue}


@dataclass(frozen=True)
class Loaded:
    job: Job
    run: Run
    started: bool  # marked running by the loading statement itself


_POLICY = JOBS.alias("policy")
START = (
    update(RUNS).where(RUNS.c.id == bindparam("b_run_id"), run_has_status(RunStatus.QUEUED.value))
    .values(status=RunStatus.RUNNING.value, started_at=bindparam("b_now", type_=UTCDateTime()),
            last_heartbeat=bindparam("b_now", type_=UTCDateTime()), hostname=bindparam("v_hostname"),
            pid=bindparam("v_pid"), worker_id=bindparam("v_worker_id"), queue=bindparam("v_queue"), skip_reason=None,
            no_overlap=select(_POLICY.c.overlap_policy != OverlapPolicy.ALLOW.value)
            .where(_POLICY.c.id == RUNS.c.job_id).scalar_subquery())
)
LOAD = (
    select(*JOBS.c, *(c.label(f"run_{c.name}") for c in RUNS.c))
    .join_from(JOBS, RUNS, RUNS.c.job_id == JOBS.c.id)
    .where(RUNS.c.id == bindparam("b_run_id"), run_has_status(RunStatus.QUEUED.value))
)


_MINE = (RUNS.c.id == bindparam("b_run_id"), run_has_status(RunStatus.RUNNING.value),
         RUNS.c.started_at == bindparam("b_now", type_=UTCDateTime()), RUNS.c.hostname == bindparam("v_hostname"),
         RUNS.c.pid == bindparam("v_pid"))
STARTED_MINE = select(RUNS.c.id).where(*_MINE)
"""The run, if it is running as this worker started it at ``b_now``: a start whose answer was lost."""
LOAD_MINE = (select(*JOBS.c, *(c.label(f"run_{c.name}") for c in RUNS.c), true().label("started"))
             .join_from(JOBS, RUNS, RUNS.c.job_id == JOBS.c.id).where(*_MINE))


@functools.lru_cache(maxsize=8)
def load_and_start_statement(free: Condition) -> Any:
    """PostgreSQL: the queued run and its job, started by the same statement when ``free`` holds.

    The guarded start is a data-modifying CTE; the SELECT reads the rows as they were before it, and
    ``started`` says whether it matched. A run that some gate has to look at comes back unstarted and
    takes the long way. One round trip instead of two for the common run.
    """
    started = (START.where(JOBS.c.id == RUNS.c.job_id, to_sql(AllOf((free, KEY_READY, NO_LIMITS))))
               .returning(RUNS.c.id).cte("started"))
    return LOAD.add_columns(exists(select(started.c.id)).label("started"))


def load(store: Store, run_id: str, *, free: Condition | None, worker: Worker, now: datetime) -> Loaded | None:
    """The queued run and its job as detached rows; started on the way where one statement can do it
    (PostgreSQL, and ``free``: the condition under which no gate has anything to do).

    Transient store failures are retried for ``retrying.START``, then ``StoreUnavailable``. A retry
    finds the load that started the run before its answer was lost: the run is running as this very
    worker started it at ``now`` (``LOAD_MINE``), and comes back started.
    """
    return retrying.call(lambda: _load(store, run_id, free, worker, now, False), bound=retrying.START,
                         what=f"run {run_id}: loading it", again=lambda: _load(store, run_id, free, worker, now, True))


def _load(store: Store, run_id: str, free: Condition | None, worker: Worker, now: datetime,
          retried: bool) -> Loaded | None:
    direct = store.direct
    one_trip = store.dialect == "postgresql" and free is not None
    row = None
    if one_trip:
        assert free is not None
        params = {"b_run_id": run_id, "b_now": now, **worker.params()}
        try:
            row = direct.first_values(load_and_start_statement(free), params)
        except direct.integrity_errors:  # another run of the job is running: the long way says so
            one_trip = False
        if one_trip and row is None and retried:  # an earlier attempt's start whose answer was lost?
            row = direct.first_values(LOAD_MINE, params)
    if not one_trip:
        row = direct.first_values(LOAD, {"b_run_id": run_id})
    if row is None:
        return None
    split, end = len(JOB_COLUMNS), len(JOB_COLUMNS) + len(RUN_COLUMNS)
    return Loaded(detached(Job, zip(JOB_COLUMNS, row[:split], strict=True)),
                  detached(Run, zip(RUN_COLUMNS, row[split:end], strict=True)), bool(one_trip and row[end]))


def start(store: Store, run_id: str, *, worker: Worker, now: datetime) -> bool:
    """queued -> running. False when another worker (or a cancel) got there first. A run of a job with a
    pool or a concurrency key starts through ``pools.start`` instead, which takes its slots.

    Raises ``RunOverlap`` when the job's overlap_policy is skip or queue and another of its runs is
    running: the unique index ``uq_runs_one_running`` refuses this very statement, so two workers
    starting two runs of one job at the same instant cannot both succeed. Transient failures are
    retried for ``retrying.START``; a retry that matches nothing asks whether the run is running as
    this worker started it at ``now`` (the earlier attempt committed, its answer lost).
    """
    return retrying.call(lambda: _start(store, run_id, worker, now, False), bound=retrying.START,
                         what=f"run {run_id}: starting it", again=lambda: _start(store, run_id, worker, now, True))


def _start(store: Store, run_id: str, worker: Worker, now: datetime, retried: bool) -> bool:
    direct = store.direct
    params = {"b_run_id": run_id, "b_now": now, **worker.params()}
    try:
        if direct.run(START, params) == 1:
            return True
    except direct.integrity_errors as exc:
        raise RunOverlap(f"run {run_id}: another run of its job is running") from exc
    return retried and direct.first_values(STARTED_MINE, params) is not None


def running_exclusive(store: Store, job_id: str) -> str | None:
    """The id of the run that keeps ``job_id``'s other runs from starting (overlap skip/queue), if any."""
    return retrying.call(lambda: _running_exclusive(store, job_id), bound=retrying.START,
                         what=f"job {job_id}: finding its running run")


def _running_exclusive(store: Store, job_id: str) -> str | None:
    with store.read() as s:
        return s.scalar(select(Run.id).where(Run.job_id == job_id, Run.status == RunStatus.RUNNING.value,
                                             Run.no_overlap.is_(True)).limit(1))


def supersede(store: Store, job_id: str, *, by: str, policy: str, now: datetime) -> list[str]:
    """Cancel the running run(s) that keep ``by`` from starting (overlap ``cancel_other`` /
    ``terminate_other``); returns their ids. Guarded on ``running``: a run that finished meanwhile stays
    as it ended."""
    return retrying.call(lambda: _supersede(store, job_id, by, policy, now), bound=retrying.START,
                         what=f"job {job_id}: cancelling its running run for run {by}")


def _supersede(store: Store, job_id: str, by: str, policy: str, now: datetime) -> list[str]:
    reason = f"superseded by run {by} {_POLICY_NOTE.format(policy)}"
    with store.session() as s:
        return list(s.scalars(
            update(Run).where(Run.job_id == job_id, Run.status == RunStatus.RUNNING.value, Run.no_overlap.is_(True))
            .values(status=RunStatus.CANCELLED.value, finished_at=now, error_message=reason,
                    summary=f"cancelled: {reason}").returning(Run.id)
        ))


_POLICY_NOTE = "(overlap_policy={})"


def killed_at_once(store: Store, run_id: str) -> bool:
    """The run was cancelled by overlap ``terminate_other``: its processes get SIGKILL, no SIGTERM grace.
    Read from the row, so it holds whether the cancel channel or the heartbeat told the worker."""
    with store.read() as s:
        message = s.scalar(select(Run.error_message).where(Run.id == run_id))
    return message is not None and message.endswith(_POLICY_NOTE.format(OverlapPolicy.TERMINATE_OTHER.value))


def stopping(store: Store, job_id: str, *, by: str, since: datetime) -> list[str]:
    """Runs that ``by`` cancelled (``supersede``) whose worker has not yet stopped them: not finalised,
    and cancelled after ``since`` (a worker that died never finalises; the bound lets the new run go)."""
    with store.read() as s:
        return list(s.scalars(select(Run.id).where(
            Run.job_id == job_id, Run.status == RunStatus.CANCELLED.value, Run.finalized_at.is_(None),
            Run.finished_at > since, Run.error_message.like(f"superseded by run {by} %"))))


def ensure_idempotency_key(store: Store, job_row: Job, run_row: Run) -> str | None:
    """Give an ``at-least-once`` run its key before it starts (kept if it already has one)."""
    if job_row.delivery_guarantee != DeliveryGuarantee.AT_LEAST_ONCE.value or run_row.idempotency_key:
        return run_row.idempotency_key
    key = idempotency.key_for(job_row.id, run_row)
    stored = retrying.call(lambda: _store_key(store, run_row.id, key), bound=retrying.START,
                           what=f"run {run_row.id} of job {job_row.id}: giving it its idempotency key")
    run_row.idempotency_key = stored or key
    return run_row.idempotency_key


def _store_key(store: Store, run_id: str, key: str) -> str | None:
    """The key the run has after this (kept if it had one: the UPDATE is guarded, so a retry is safe)."""
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id, Run.idempotency_key.is_(None)).values(idempotency_key=key))
        return s.scalar(select(Run.idempotency_key).where(Run.id == run_id))


def skip(store: Store, run_id: str, reason: str, *, now: datetime,
         from_status: RunStatus = RunStatus.QUEUED, status: RunStatus = RunStatus.SKIPPED) -> bool:
    """Record a fire that did not run (overlap, pool busy, gateway down: ``skipped``; too late to start:
    ``missed``). Neither is an error."""
    return retrying.call(lambda: _skip(store, run_id, reason, now, from_status, status), bound=retrying.START,
                         what=f"run {run_id}: recording it {status}")


def _skip(store: Store, run_id: str, reason: str, now: datetime, from_status: RunStatus, status: RunStatus) -> bool:
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(from_status.value))
            .values(status=status.value, skip_reason=reason[:512], summary=f"{status}: {reason}",
                    finished_at=now, duration_ms=0)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        found = s.get(Run, run_id)
        owner = s.get(Job, found.job_id) if found else None
        if owner is not None:
            owner.last_status = status.value
            owner.last_run_at = now
        return True


def defer(store: Store, run_id: str, *, not_before: datetime, reason: str) -> bool:
    """queued -> pending again: the run waits (overlap queue, busy pool) and beat re-sends it later.

    ``skip_reason`` holds why it waits while it is pending; ``start`` clears it.
    """
    return retrying.call(lambda: _defer(store, run_id, not_before, reason), bound=retrying.START,
                         what=f"run {run_id}: putting it back to wait")


def _defer(store: Store, run_id: str, not_before: datetime, reason: str) -> bool:
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(RunStatus.QUEUED.value))
            .values(status=RunStatus.PENDING.value, not_before=not_before, skip_reason=reason, dispatched_at=None)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def waiting_count(store: Store, job_id: str, *, besides: str) -> int:
    """Runs of a job that wait for their turn (deferred by overlap ``queue``, a busy pool, the gateway)."""
    return retrying.call(lambda: _waiting_count(store, job_id, besides), bound=retrying.START,
                         what=f"job {job_id}: counting its waiting runs")


def _waiting_count(store: Store, job_id: str, besides: str) -> int:
    with store.read() as s:
        return int(s.scalar(
            select(func.count()).select_from(Run).where(
                Run.job_id == job_id, Run.id != besides, Run.skip_reason.is_not(None),
                Run.status.in_([RunStatus.PENDING.value, RunStatus.QUEUED.value]),
            )
        ) or 0)
