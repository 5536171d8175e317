"""The run lifecycle: every state change is a guarded UPDATE (compare-and-set on the current status).

A duplicate Celery message, a second beat or a replayed callback finds the row already moved and does
nothing. Terminal states never change again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import bindparam, case, exists, func, null, select, update
from sqlalchemy.orm import Session

from clawsched.sched.errors import NotFound, RunOverlap
from clawsched.sched.rules import schedules
from clawsched.sched.states import FAILED, TERMINAL, DeliveryGuarantee, OverlapPolicy, RunStatus, ScheduleKind, Trigger
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import (
    JOBS,
    RUNS,
    Job,
    Run,
    UTCDateTime,
    detached,
    new_id,
    row_dict,
    run_has_status,
    utcnow,
)

log = logging.getLogger(__name__)

TERMINAL_VALUES = tuple(s.value for s in TERMINAL)


@dataclass(frozen=True)
class Outcome:
    """What an executor reports about one run; ``finish`` writes it in one guarded UPDATE."""

    status: RunStatus
    summary: str | None = None
    error_message: str | None = None
    reply: str | None = None
    usage: dict[str, Any] | None = None
    session_key: str | None = None
    shell: dict[str, Any] = field(default_factory=dict)  # shell_* columns

    def columns(self) -> dict[str, Any]:
        values: dict[str, Any] = {"status": self.status.value, "summary": self.summary,
                                  "error_message": self.error_message, **self.shell}
        for name in ("reply", "usage", "session_key"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        return values


def new_run(job: Any, *, trigger: Trigger, now: datetime, status: RunStatus = RunStatus.PENDING,
            not_before: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """Column values for a run of ``job`` (for a bulk INSERT or ``Run(**values)``)."""
    return {
        "id": new_id(),
        "job_id": job.id,
        "status": status.value,
        "trigger": trigger.value,
        "created_at": now,
        "not_before": not_before if not_before is not None else now,
        "run_timeout_ms": job.run_timeout_ms,
        **extra,
    }


def enqueue(store: Store, job_id: str, *, trigger: Trigger = Trigger.MANUAL, now: datetime | None = None,
            not_before: datetime | None = None, **extra: Any) -> str:
    """Create a pending run that the beat dispatches once ``not_before`` has passed."""
    now = now or utcnow()
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} not found; list jobs with `clawsched jobs list`")
        values = new_run(job, trigger=trigger, now=now, not_before=not_before, **extra)
        s.add(Run(**values))
    return str(values["id"])


def start(store: Store, run_id: str, *, hostname: str, pid: int, worker_id: str | None = None,
          now: datetime | None = None) -> bool:
    """queued -> running. False when another worker (or a cancel) got there first.

    Raises ``RunOverlap`` when the job's overlap_policy is skip or queue and another of its runs is
    running: the unique index ``uq_runs_one_running`` refuses this very statement, so two workers
    starting two runs of one job at the same instant cannot both succeed.
    """
    now = now or utcnow()
    direct = store.direct
    try:
        return direct.run(START, {"b_run_id": run_id, "b_now": now, "v_hostname": hostname, "v_pid": pid,
                                  "v_worker_id": worker_id}) == 1  # once per run: see ``direct``
    except direct.integrity_errors as exc:
        raise RunOverlap(f"run {run_id}: another run of its job is running") from exc


_POLICY = JOBS.alias("policy")
START = (
    update(RUNS).where(RUNS.c.id == bindparam("b_run_id"), run_has_status(RunStatus.QUEUED.value))
    .values(status=RunStatus.RUNNING.value, started_at=bindparam("b_now", type_=UTCDateTime()),
            last_heartbeat=bindparam("b_now", type_=UTCDateTime()), hostname=bindparam("v_hostname"),
            pid=bindparam("v_pid"), worker_id=bindparam("v_worker_id"), skip_reason=None,
            no_overlap=select(_POLICY.c.overlap_policy != OverlapPolicy.ALLOW.value)
            .where(_POLICY.c.id == RUNS.c.job_id).scalar_subquery())
)


def running_exclusive(store: Store, job_id: str) -> str | None:
    """The id of the run that keeps ``job_id``'s other runs from starting (overlap skip/queue), if any."""
    with store.read() as s:
        return s.scalar(select(Run.id).where(Run.job_id == job_id, Run.status == RunStatus.RUNNING.value,
                                             Run.no_overlap.is_(True)).limit(1))


def heartbeat(store: Store, run_id: str, now: datetime | None = None) -> bool:
    """Refresh the run's liveness lease; False means it is no longer running here (cancelled, reaped)."""
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(RunStatus.RUNNING.value))
            .values(last_heartbeat=now or utcnow())
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def skip(store: Store, run_id: str, reason: str, *, now: datetime | None = None,
         from_status: RunStatus = RunStatus.QUEUED) -> bool:
    """Record a fire that did not run (overlap, pool busy, gateway down). Skips are not errors."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(from_status.value))
            .values(status=RunStatus.SKIPPED.value, skip_reason=reason, summary=f"skipped: {reason}",
                    finished_at=now, duration_ms=0)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        run = s.get(Run, run_id)
        job = s.get(Job, run.job_id) if run else None
        if job is not None:
            job.last_status = RunStatus.SKIPPED.value
            job.last_run_at = now
        return True


def finish(store: Store, run_id: str, outcome: Outcome, *, now: datetime | None = None) -> Run | None:
    """running -> a terminal status, with the job's bookkeeping in the same transaction."""
    with store.read() as s:
        run = s.get(Run, run_id)
        job = s.get(Job, run.job_id) if run is not None else None
    if run is None or job is None:
        return None
    done = finish_loaded(store, job, run, outcome, now=now)
    return done.run if done is not None else None


@dataclass(frozen=True)
class Finished:
    """A run as ``finish_loaded`` recorded it, its job as the bookkeeping left it (detached rows), and
    whether the run was finalised in the same statement (no post-run step had anything to do)."""

    run: Run
    job: Job | None
    finalized: bool = False


Settled = Callable[[Job, Run, bool], bool]
"""``(job, finished run, the job has children) -> True`` when no post-run step has anything to do."""

RUN_COLUMNS = tuple(c.name for c in RUNS.c)
JOB_COLUMNS = tuple(c.name for c in JOBS.c)
_CHILD = JOBS.alias("child")
_BOOKKEEPING = ("last_run_at", "last_status", "consecutive_errors", "next_run_at", "enabled")


def finish_loaded(store: Store, job: Job, run: Run, outcome: Outcome, *, now: datetime | None = None,
                  settled: Settled | None = None) -> Finished | None:
    """running -> terminal for a run whose rows the caller holds (a worker loaded them to start it).

    This runs once per run on the worker's hot path, so it is one transaction of Core statements, two
    for a success: the guarded ``UPDATE ... RETURNING`` of the run and the job's bookkeeping, written
    in SQL (``consecutive_errors = 0``, an ``at`` job disabled) without reading the job first. When
    ``settled`` says the post-run pipeline has nothing to do, ``finalized_at`` is set by the same
    UPDATE, so such a run costs no further write; whether the job has children (the one fact that
    needs the database) is decided inside that statement. A failure reads the job under a row lock,
    because its error backoff depends on the job's current streak and next fire.
    """
    now = now or utcnow()
    started_at = run.started_at or now
    values: dict[str, Any] = {"finished_at": now, "duration_ms": max(0, int((now - started_at).total_seconds() * 1000)),
                              **outcome.columns()}
    unless_children = False
    if settled is not None:
        finalize = _finalize(job, _with(run, values), settled)
        if finalize is True:
            values["finalized_at"] = now
        unless_children = finalize is None
    params = {f"v_{k}": v for k, v in values.items()} | {"b_run_id": run.id, "b_job_id": job.id, "b_now": now}
    direct = store.direct
    if store.dialect == "postgresql" and outcome.status == RunStatus.OK and settled is not None:
        # the common case in one statement, one round trip
        row = direct.first(_finish_ok_statement(tuple(values), unless_children), params)
        if row is None:
            return None
        final = detached(Run, row)
        if final.finalized_at is not None:
            return Finished(final, job, True)
        jrow = direct.first(_JOB, params)  # the pipeline has work: it gets the job as it is now
        return Finished(final, detached(Job, jrow) if jrow is not None else None, False)
    with direct.transaction() as tx:
        row = tx.first(_finish_statement(tuple(values), unless_children), params)
        if row is None:
            return None
        final = detached(Run, row)
        finalized = final.finalized_at is not None
        if final.status == RunStatus.OK.value:
            if finalized:  # nothing downstream reads the job
                tx.run(_OK_BOOKKEEPING, params)
                return Finished(final, job, True)
            jrow = tx.first(_OK_BOOKKEEPING_RETURNING, params)
            return Finished(final, detached(Job, jrow) if jrow is not None else None, finalized)
        jrow = tx.first(_JOB_FOR_UPDATE, params)
        if jrow is None:
            return Finished(final, None, finalized)
        fresh = detached(Job, jrow)
        record_on_job(fresh, final, now)
        tx.run(_BOOK, params | {f"v_{name}": getattr(fresh, name) for name in _BOOKKEEPING})
        return Finished(final, fresh, finalized)


@functools.lru_cache(maxsize=64)
def _finish_statement(keys: tuple[str, ...], unless_children: bool) -> Any:
    """The finishing UPDATE for one set of written columns, built once per set and cached.

    Building a statement (coercions, cache key) cost more CPU than executing it; the sets are few
    (a shell outcome, an agent outcome, with or without ``finalized_at``). ``unless_children``: set
    ``finalized_at`` only if the job has no children, decided by the statement itself.
    """
    values: dict[str, Any] = {k: bindparam(f"v_{k}") for k in keys}
    if unless_children:
        values["finalized_at"] = case((exists().where(_CHILD.c.parent_id == bindparam("b_job_id")), null()),
                                      else_=bindparam("b_now", type_=UTCDateTime()))
    return (update(RUNS).where(RUNS.c.id == bindparam("b_run_id"), run_has_status(RunStatus.RUNNING.value))
            .values(values).returning(*RUNS.c))


@functools.lru_cache(maxsize=16)
def _finish_ok_statement(keys: tuple[str, ...], unless_children: bool) -> Any:
    """PostgreSQL: a success with nothing downstream, run and job written by one statement.

    Data-modifying CTEs run as one atomic statement, so autocommit makes it one round trip instead
    of four (BEGIN, two UPDATEs, COMMIT); the job's bookkeeping happens only if the run's guarded
    UPDATE matched.
    """
    finished = _finish_statement(keys, unless_children).cte("finished")
    booked = _OK_BOOKKEEPING.where(exists(select(finished.c.id))).cte("booked")
    return select(finished).add_cte(booked)


_OK_BOOKKEEPING = (
    update(JOBS).where(JOBS.c.id == bindparam("b_job_id"))
    .values(last_run_at=bindparam("b_now", type_=UTCDateTime()), last_status=RunStatus.OK.value, consecutive_errors=0,
            enabled=case((JOBS.c.schedule_kind == ScheduleKind.AT.value, False), else_=JOBS.c.enabled),
            updated_at=JOBS.c.updated_at)  # the definition's change time; a run does not move it
)
_OK_BOOKKEEPING_RETURNING = _OK_BOOKKEEPING.returning(*JOBS.c)
_JOB = select(JOBS).where(JOBS.c.id == bindparam("b_job_id"))
_JOB_FOR_UPDATE = _JOB.with_for_update()
_BOOK = (  # a failure's bookkeeping, decided in Python (``record_on_job``) from the locked row
    update(JOBS).where(JOBS.c.id == bindparam("b_job_id"))
    .values({**{name: bindparam(f"v_{name}", type_=JOBS.c[name].type) for name in _BOOKKEEPING},
             "updated_at": JOBS.c.updated_at})
)


def _with(run: Run, values: dict[str, Any]) -> Run:
    """The row as the finishing UPDATE will leave it, for the ``settled`` predicate to read.

    A plain namespace, not an ORM object: building a mapped instance costs more than the check it serves.
    """
    return cast(Run, SimpleNamespace(**{**{name: getattr(run, name) for name in RUN_COLUMNS}, **values}))


def _finalize(job: Job, run: Run, settled: Settled) -> bool | None:
    """True when no post-run step has work, False when one has, None when only children would decide."""
    without_children, with_children = settled(job, run, False), settled(job, run, True)
    if without_children and with_children:
        return True
    return None if without_children else False


def record_on_job(job: Job, run: Run, now: datetime, *, replaying: bool = False) -> None:
    """The job's view of its latest final outcome: last status, consecutive errors, error backoff.

    A failure that a retry or a crash replay will follow is not final: it does not count as an error.
    """
    status = RunStatus(run.status)
    job.last_run_at = now
    job.last_status = status.value
    if status == RunStatus.OK:
        job.consecutive_errors = 0
    elif status in FAILED and not will_retry(job, run) and not replaying:
        job.consecutive_errors = (job.consecutive_errors or 0) + 1
        if job.schedule_kind in (ScheduleKind.CRON.value, ScheduleKind.EVERY.value) and job.next_run_at:
            job.next_run_at = schedules.next_fire_after_finish(
                schedules.Schedule.of(job), job.next_run_at, now, job.consecutive_errors
            )
    if job.schedule_kind == ScheduleKind.AT.value and not will_retry(job, run) and not replaying:
        job.enabled = False


def will_retry(job: Job, run: Run) -> bool:
    """Whether the retry policy will give this failed run another attempt (so it is not final yet).

    A crashed run is never retried by the ladder: it may have done its work. ``at-least-once`` jobs
    replay it instead (``will_replay``); ``at-most-once`` jobs leave it be.
    """
    status = RunStatus(run.status)
    return status in FAILED and status != RunStatus.CRASHED and (run.retry_count or 0) < (job.max_retries or 0)


MAX_REPLAYS = 3


def will_replay(job: Job, run: Run, earlier_replays: int) -> bool:
    """Whether a crashed run is replayed: ``at-least-once`` jobs, at most ``MAX_REPLAYS`` times in a row."""
    return (
        run.status == RunStatus.CRASHED.value
        and job.delivery_guarantee == DeliveryGuarantee.AT_LEAST_ONCE.value
        and earlier_replays < MAX_REPLAYS
    )


def replays_before(s: Session, run: Run) -> int:
    """How many crash replays led to ``run`` (0 for an original run)."""
    count, current = 0, run.replay_of
    while current and count <= MAX_REPLAYS:
        count += 1
        current = s.scalar(select(Run.replay_of).where(Run.id == current))
    return count


def is_final(store: Store, job: Job, run: Run) -> bool:
    """A terminal outcome after which nothing else will be attempted for this fire (no retry, no replay)."""
    if RunStatus(run.status) not in TERMINAL or will_retry(job, run):
        return False
    if run.status != RunStatus.CRASHED.value:
        return True
    with store.read() as s:
        return not will_replay(job, run, replays_before(s, run))


def idempotency_key(job_id: str, run: Run) -> str:
    """A stable key per unit of work: a replay carries its original's key, so an agent can say
    ``IDEMPOTENT_SKIP`` for work it already did; a scheduled fire is keyed by its instant."""
    if run.scheduled_for is not None:
        raw = f"{job_id}:{run.scheduled_for.isoformat()}"
    elif run.triggered_by_run:
        raw = f"chain:{run.triggered_by_run}:{job_id}"
    elif run.retry_of:
        raw = f"retry:{run.retry_of}:{job_id}"
    else:
        raw = f"run:{run.id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def ensure_idempotency_key(store: Store, job: Job, run: Run) -> str | None:
    """Give an ``at-least-once`` run its key before it starts (kept if it already has one)."""
    if job.delivery_guarantee != DeliveryGuarantee.AT_LEAST_ONCE.value:
        return run.idempotency_key
    if run.idempotency_key:
        return run.idempotency_key
    key = idempotency_key(job.id, run)
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run.id, Run.idempotency_key.is_(None)).values(idempotency_key=key))
        stored = s.scalar(select(Run.idempotency_key).where(Run.id == run.id))
    run.idempotency_key = stored or key
    return run.idempotency_key


def crash(store: Store, run_id: str, *, stale_before: datetime, reason: str,
          now: datetime | None = None) -> Run | None:
    """running -> crashed, only if its heartbeat is still older than ``stale_before`` (the worker is gone)."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(
            update(Run)
            .where(Run.id == run_id, run_has_status(RunStatus.RUNNING.value), Run.last_heartbeat < stale_before)
            .values(status=RunStatus.CRASHED.value, finished_at=now, error_message=reason)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        run = s.get(Run, run_id)
        assert run is not None
        s.refresh(run)
        run.duration_ms = max(0, int((now - (run.started_at or now)).total_seconds() * 1000))
        job = s.get(Job, run.job_id)
        if job is not None:
            record_on_job(job, run, now, replaying=will_replay(job, run, replays_before(s, run)))
        return run


def defer(store: Store, run_id: str, *, not_before: datetime, reason: str) -> bool:
    """queued -> pending again: the run waits (overlap queue, busy pool) and beat re-sends it later.

    ``skip_reason`` holds why it waits while it is pending; ``start`` clears it.
    """
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(RunStatus.QUEUED.value))
            .values(status=RunStatus.PENDING.value, not_before=not_before, skip_reason=reason, dispatched_at=None)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def waiting_count(store: Store, job_id: str, *, besides: str) -> int:
    """Runs of a job that wait for their turn (deferred by overlap ``queue`` or a busy pool)."""
    with store.read() as s:
        return int(s.scalar(
            select(func.count()).select_from(Run).where(
                Run.job_id == job_id, Run.id != besides, Run.skip_reason.is_not(None),
                Run.status.in_([RunStatus.PENDING.value, RunStatus.QUEUED.value]),
            )
        ) or 0)


def release_waiters(store: Store, job_ids: Iterable[str], now: datetime | None = None) -> int:
    """Make runs waiting on these jobs (or their pool) due now; returns how many."""
    ids = list(job_ids)
    if not ids:
        return 0
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.job_id.in_(ids), Run.status == RunStatus.PENDING.value,
                              Run.skip_reason.is_not(None), Run.not_before > (now or utcnow()))
            .values(not_before=now or utcnow())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


OPEN = (RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)


def cancel_for_jobs(s: Session, job_ids: list[str], reason: str, now: datetime) -> list[tuple[str, str]]:
    """Cancel every open run of these jobs (guarded per status); returns (run id, previous status) pairs."""
    rows = s.execute(
        select(Run.id, Run.status).where(Run.job_id.in_(job_ids), Run.status.in_([o.value for o in OPEN]))
    ).all()
    cancelled = []
    for run_id, status in rows:
        result = s.execute(
            update(Run).where(Run.id == run_id, run_has_status(status))
            .values(status=RunStatus.CANCELLED.value, finished_at=now, error_message=reason,
                    summary=f"cancelled: {reason}")
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            cancelled.append((run_id, status))
    return cancelled


def get(store: Store, run_id: str) -> Run:
    return store.fetch(Run, run_id, f"run {run_id!r} not found; list runs with `clawsched runs list <job-id>`")


def for_job(store: Store, job_id: str, limit: int = 20) -> list[Run]:
    with store.read() as s:
        q = select(Run).where(Run.job_id == job_id).order_by(Run.created_at.desc(), Run.id).limit(limit)
        return list(s.scalars(q))


def running(store: Store) -> list[Run]:
    with store.read() as s:
        q = select(Run).where(Run.status == RunStatus.RUNNING.value).order_by(Run.started_at)
        return list(s.scalars(q))


def stale(store: Store, older_than_s: float, now: datetime | None = None) -> list[Run]:
    """Running runs whose heartbeat is older than ``older_than_s``: their worker is probably gone."""
    from datetime import timedelta

    cutoff = (now or utcnow()) - timedelta(seconds=older_than_s)
    with store.read() as s:
        q = select(Run).where(Run.status == RunStatus.RUNNING.value, Run.last_heartbeat < cutoff)
        return list(s.scalars(q))


def running_job_ids(session: Session, job_ids: Iterable[str]) -> set[str]:
    ids = list(job_ids)
    if not ids:
        return set()
    q = select(Run.job_id).where(Run.job_id.in_(ids), Run.status == RunStatus.RUNNING.value).distinct()
    return set(session.scalars(q))


def count_by_status(store: Store) -> dict[str, int]:
    with store.read() as s:
        return {status: n for status, n in s.execute(select(Run.status, func.count()).group_by(Run.status))}


def as_dict(run: Run) -> dict[str, Any]:
    """A run as JSON-ready data (instants as ISO-8601 UTC)."""
    return row_dict(run, Run)
