"""Finishing a run: running -> a terminal status, with its job's bookkeeping in the same transaction.

This runs once per run on the worker's hot path, so it is Core statements on the thread's DBAPI
connection: the guarded ``UPDATE ... RETURNING`` of the run, and the job columns that the outcome
changes (``rules.attempts.bookkeeping``), written without reading the job first for a success. A
failure reads the job under a row lock, because its error backoff depends on the job's current streak
and next fire. The caller says whether the run's post-run work is already known to be nothing
(``Finalize``): then ``finalized_at`` is set by the same UPDATE, and such a run costs no further write.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, case, exists, null, select, update

from clawsched.sched.outcomes import Outcome
from clawsched.sched.rules import attempts
from clawsched.sched.states import RunStatus

from . import retrying
from .dbapi import Transaction
from .engine import Store
from .models import Job, Run, detached
from .tables import JOBS, RUNS, UTCDateTime, run_has_status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Finalize(StrEnum):
    """What the caller knows of the run's post-run work before the outcome is written."""

    NOW = "now"  # nothing to do: finalised by the finishing statement
    UNLESS_CHILDREN = "unless_children"  # nothing, unless the job has children (the statement decides)
    LATER = "later"  # the pipeline runs after this


@dataclass(frozen=True)
class Finished:
    """A run as its outcome left it, its job as the bookkeeping left it (detached rows), and whether the
    run was finalised in the same statement."""

    run: Run
    job: Job | None
    finalized: bool = False


NUL_SHOWN_AS = "\u2400"  # SYMBOL FOR NULL: what a NUL byte of output or reply is stored as


def storable(value: Any) -> Any:
    """``value`` with NUL characters replaced: PostgreSQL refuses them in text and JSON, and an outcome the
    store refuses is a run closed ``crashed`` (and run again). Shown as U+2400, so the output says so."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_SHOWN_AS) if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def columns(run: Run, outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The run columns the finishing statement writes."""
    started_at = run.started_at or now
    return {"finished_at": now, "duration_ms": max(0, int((now - started_at).total_seconds() * 1000)),
            **{name: storable(value) for name, value in outcome.columns().items()}}


class _Preview:
    """The row as the finishing UPDATE will leave it: the new values over the loaded run, read through.

    Not an ORM object and not a copy: the rules read a handful of the run's ~70 columns, and copying
    every one (twice a run) cost more than the checks it served.
    """

    __slots__ = ("_run", "_values")

    def __init__(self, run: Run, values: dict[str, Any]) -> None:
        self._run, self._values = run, values

    def __getattr__(self, name: str) -> Any:
        values = self._values
        return values[name] if name in values else getattr(self._run, name)


def preview(run: Run, values: dict[str, Any]) -> Run:
    """The row as the finishing UPDATE will leave it, for rules that decide before it is written."""
    return cast(Run, _Preview(run, dict(values)))


def finish_loaded(store: Store, job: Job, run: Run, values: dict[str, Any], *, now: datetime,
                  finalize: Finalize = Finalize.LATER, retried: bool = False) -> Finished | None:
    """running -> terminal for a run whose rows the caller holds; None when the run was no longer running.

    Transient store failures are retried for ``retrying.OUTCOME`` (losing an outcome costs a second
    execution), then ``StoreUnavailable``. After a failed attempt (or when the caller says it tried
    before: ``retried``) an UPDATE that matches nothing reads the row: a run finished at this very
    ``finished_at`` with this status was finished by an earlier attempt whose answer was lost (its job
    bookkeeping committed with it), and comes back as recorded, not as "no longer running".
    """
    values = dict(values)
    if finalize == Finalize.NOW:
        values["finalized_at"] = now
    ok = values["status"] == RunStatus.OK.value
    booked = attempts.bookkeeping(job, preview(run, values), now) if ok else {}
    params = ({f"v_{k}": v for k, v in values.items()} | {f"j_{k}": v for k, v in booked.items()}
              | {"b_run_id": run.id, "b_job_id": job.id, "b_now": now})
    write = _Write(job, params, tuple(values), tuple(booked), ok, finalize)
    return retrying.call(lambda: _write_outcome(store, write, now, retried), bound=retrying.OUTCOME,
                         what=f"run {run.id} of job {job.id}: recording its outcome ({values['status']})",
                         again=lambda: _write_outcome(store, write, now, True))


@dataclass(frozen=True)
class _Write:
    """One outcome write: the statement's parameters and the shape that picks the statement."""

    job: Job
    params: dict[str, Any]
    keys: tuple[str, ...]
    booked: tuple[str, ...]
    ok: bool
    finalize: Finalize


def _write_outcome(store: Store, w: _Write, now: datetime, retried: bool) -> Finished | None:
    unless_children = w.finalize == Finalize.UNLESS_CHILDREN
    if store.dialect == "postgresql" and w.ok and w.finalize != Finalize.LATER:
        done = _finish_ok_in_one(store, w.job, w.params, w.keys, w.booked, unless_children)
    else:
        done = _finish_in_transaction(store, w, now, unless_children)
    return _recorded_before(store, w.params) if done is None and retried else done


def _finish_in_transaction(store: Store, w: _Write, now: datetime, unless_children: bool) -> Finished | None:
    with store.direct.transaction() as tx:
        row = tx.first(_finish_statement(w.keys, unless_children), w.params)
        if row is None:
            return None
        final = detached(Run, row)
        if w.ok:
            return _book_success(tx, w.job, final, w.params, w.booked)
        return _book_failure(tx, final, now)


def _recorded_before(store: Store, params: dict[str, Any]) -> Finished | None:
    """The run as an earlier attempt of this same write left it, or None (someone else finished it)."""
    direct = store.direct
    row = direct.first(_RUN, params)
    if (row is None or row["finished_at"] != params["v_finished_at"] or row["status"] != params["v_status"]
            or row["status"] == RunStatus.RUNNING.value):
        return None
    jrow = direct.first(_JOB, params)
    return Finished(detached(Run, row), detached(Job, jrow) if jrow is not None else None,
                    row["finalized_at"] is not None)


def _finish_ok_in_one(store: Store, job: Job, params: dict[str, Any], keys: tuple[str, ...],
                      booked: tuple[str, ...], unless_children: bool) -> Finished | None:
    """PostgreSQL: a success, run and job written by one statement (one round trip)."""
    direct = store.direct
    row = direct.first(_finish_ok_statement(keys, booked, unless_children), params)
    if row is None:
        return None
    final = detached(Run, row)
    if final.finalized_at is not None:
        return Finished(final, job, True)
    jrow = direct.first(_JOB, params)  # the pipeline has work: it gets the job as it is now
    return Finished(final, detached(Job, jrow) if jrow is not None else None, False)


def _book_success(tx: Transaction, job: Job, final: Run, params: dict[str, Any],
                  booked: tuple[str, ...]) -> Finished:
    finalized = final.finalized_at is not None
    if finalized:  # nothing downstream reads the job
        tx.run(_job_update(booked), params)
        return Finished(final, job, True)
    jrow = tx.first(_job_update(booked).returning(*JOBS.c), params)
    return Finished(final, detached(Job, jrow) if jrow is not None else None, False)


def _book_failure(tx: Transaction, final: Run, now: datetime) -> Finished:
    finalized = final.finalized_at is not None
    jrow = tx.first(_JOB_FOR_UPDATE, {"b_job_id": final.job_id})
    if jrow is None:
        return Finished(final, None, finalized)
    fresh = detached(Job, jrow)
    changes = attempts.bookkeeping(fresh, final, now)
    attempts.record_on_job(fresh, final, now)
    tx.run(_job_update(tuple(changes)), {"b_job_id": fresh.id} | {f"j_{k}": v for k, v in changes.items()})
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
def _finish_ok_statement(keys: tuple[str, ...], booked: tuple[str, ...], unless_children: bool) -> Any:
    """Data-modifying CTEs run as one atomic statement, so autocommit makes it one round trip instead
    of four (BEGIN, two UPDATEs, COMMIT); the job's bookkeeping happens only if the run's guarded
    UPDATE matched."""
    finished = _finish_statement(keys, unless_children).cte("finished")
    job_booked = _job_update(booked).where(exists(select(finished.c.id))).cte("booked")
    return select(finished).add_cte(job_booked)


@functools.lru_cache(maxsize=32)
def _job_update(keys: tuple[str, ...]) -> Any:
    """The job's bookkeeping columns ``keys`` (from ``rules.attempts.bookkeeping``), nothing else."""
    return (update(JOBS).where(JOBS.c.id == bindparam("b_job_id"))
            .values({**{k: bindparam(f"j_{k}", type_=JOBS.c[k].type) for k in keys},
                     "updated_at": JOBS.c.updated_at}))  # the definition's change time; a run does not move it


_CHILD = JOBS.alias("child")
_JOB = select(JOBS).where(JOBS.c.id == bindparam("b_job_id"))
_JOB_FOR_UPDATE = _JOB.with_for_update()
_RUN = select(RUNS).where(RUNS.c.id == bindparam("b_run_id"))


def finish(store: Store, run_id: str, outcome: Outcome, *, now: datetime) -> Run | None:
    """running -> terminal for a run the caller has not loaded (the pipeline runs separately)."""
    with store.read() as s:
        found = s.get(Run, run_id)
        owner = s.get(Job, found.job_id) if found is not None else None
    if found is None or owner is None:
        return None
    done = finish_loaded(store, owner, found, columns(found, outcome, now), now=now)
    return done.run if done is not None else None


def crash(store: Store, run_id: str, *, stale_before: datetime, reason: str, now: datetime) -> Run | None:
    """running -> crashed, only if its heartbeat is still older than ``stale_before`` (the worker is gone).

    A crash that a replay will follow is not a final error for the job's bookkeeping.
    """
    with store.session() as s:
        result = s.execute(
            update(Run)
            .where(Run.id == run_id, run_has_status(RunStatus.RUNNING.value), Run.last_heartbeat < stale_before)
            .values(status=RunStatus.CRASHED.value, finished_at=now, error_message=reason)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        found = s.get(Run, run_id)
        assert found is not None
        s.refresh(found)
        found.duration_ms = max(0, int((now - (found.started_at or now)).total_seconds() * 1000))
        owner = s.get(Job, found.job_id)
        if owner is not None:
            replaying = attempts.will_replay(owner, found, replays_before(s, found))
            attempts.record_on_job(owner, found, now, replaying=replaying)
        return found


def replays_before(s: Session, found: Run) -> int:
    """How many crash replays led to ``found`` (0 for an original run)."""
    count, current = 0, found.replay_of
    while current and count <= attempts.MAX_REPLAYS:
        count += 1
        current = s.scalar(select(Run.replay_of).where(Run.id == current))
    return count


MARK_FINALIZED = (update(RUNS).where(RUNS.c.id == bindparam("b_run_id"), RUNS.c.finalized_at.is_(None))
                  .values(finalized_at=bindparam("b_now", type_=UTCDateTime())))


def mark_finalized(store: Store, run_id: str, *, now: datetime) -> None:
    """The post-run pipeline is done with the run (one guarded statement)."""
    store.direct.run(MARK_FINALIZED, {"b_run_id": run_id, "b_now": now})
