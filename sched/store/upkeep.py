"""What periodic upkeep asks of the store: lost messages, unfinalised runs, history past retention.

Each is a guarded statement or an idempotent read, so several beats' upkeep may run at once.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import delete, select, union, update

from clawsched.sched.states import TERMINAL, RunStatus

from .engine import Store
from .models import Job, Run
from .tables import RUNS, run_has_status

TERMINAL_VALUES = [t.value for t in TERMINAL]


def queued_before(store: Store, *, before: datetime, limit: int = 500) -> list[str]:
    """Runs still queued that were sent before ``before``, oldest send first: what the lost-message pass
    checks against the broker."""
    with store.read() as s:
        return list(s.scalars(select(Run.id).where(Run.status == RunStatus.QUEUED.value, Run.dispatched_at < before)
                              .order_by(Run.dispatched_at).limit(limit)))


def mark_resent(store: Store, run_ids: list[str], *, now: datetime) -> list[str]:
    """Of ``run_ids``, those still queued, marked as dispatched again ``now`` (so the next pass gives the new
    message its grace); the caller sends them again. In the order given."""
    if not run_ids:
        return []
    with store.session() as s:
        still = set(s.scalars(select(Run.id).where(Run.id.in_(run_ids), run_has_status(RunStatus.QUEUED.value))))
        if still:
            s.execute(update(Run).where(Run.id.in_(list(still)), run_has_status(RunStatus.QUEUED.value))
                      .values(dispatched_at=now))
    return [run_id for run_id in run_ids if run_id in still]


def unfinalized(store: Store, *, finished_before: datetime, limit: int = 200,
                max_attempts: int | None = None) -> list[str]:
    """Finished runs whose post-run pipeline never completed (``ix_runs_unfinalized``: the few such runs,
    not the history); with ``max_attempts``, only those not yet quarantined (``count_pipeline_attempt``)."""
    query = (select(Run.id).where(Run.finalized_at.is_(None), Run.finished_at.is_not(None),
                                  Run.finished_at < finished_before, Run.status.in_(TERMINAL_VALUES))
             .order_by(Run.finished_at).limit(limit))
    if max_attempts is not None:
        query = query.where(Run.pipeline_attempts <= max_attempts)
    with store.read() as s:
        return list(s.scalars(query))


def count_pipeline_attempt(store: Store, run_id: str, *, max_attempts: int) -> tuple[int, str] | None:
    """Count one more reconciler attempt at a run's pipeline, before it is made (so an attempt that never
    returns counts too): the attempt's number and the run's job. The number is ``max_attempts + 1`` when
    the run has used them all (it is quarantined from then on); None when it was finalised or quarantined
    meanwhile (nothing to do)."""
    with store.atomic() as conn:
        row = conn.execute(
            update(RUNS).where(RUNS.c.id == run_id, RUNS.c.finalized_at.is_(None),
                               RUNS.c.pipeline_attempts <= max_attempts)
            .values(pipeline_attempts=RUNS.c.pipeline_attempts + 1)
            .returning(RUNS.c.pipeline_attempts, RUNS.c.job_id)
        ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def existing_runs(store: Store, run_ids: list[str], *, batch: int = 500) -> set[str]:
    """Which of ``run_ids`` still have a row (the artifacts sweep keeps their files)."""
    found: set[str] = set()
    with store.read() as s:
        for i in range(0, len(run_ids), batch):
            found.update(s.scalars(select(Run.id).where(Run.id.in_(run_ids[i:i + batch]))))
    return found


def prune_runs(store: Store, *, created_before: datetime, batch: int = 1000, budget_s: float = 10.0) -> int:
    """Delete finished, finalised runs created before ``created_before`` (approvals and deliveries cascade).

    Batch after batch until none is left or ``budget_s`` is spent (the next pass goes on): one batch per
    pass would prune fewer runs than a busy fleet records.
    """
    removed, deadline = 0, time.monotonic() + budget_s
    while True:
        with store.session() as s:
            ids = list(s.scalars(
                select(Run.id).where(Run.created_at < created_before, Run.status.in_(TERMINAL_VALUES),
                                     Run.finalized_at.is_not(None)).limit(batch)
            ))
            if ids:
                s.execute(delete(Run).where(Run.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch or time.monotonic() >= deadline:
            return removed


MANY_JOBS = 500  # past this many jobs with a deadline, their runs are found by a subquery, not a list of ids


def waiting_with_deadlines(store: Store, *, limit: int = 500) -> list[tuple[Job, Run]]:
    """Queued and pending runs of jobs with ``schedule_to_start_s`` or ``starting_deadline_s``, oldest first:
    what the deadline pass checks (``rules.misfire.start_too_late`` decides, in Python).

    The jobs first, each deadline by its own sparse index (migration 0017), then their waiting runs: one
    statement joining the two walked every queued run of every job, which under a backlog of 6 000 runs
    was a fifth of a worker's CPU (bench/README.md).
    """
    with store.read() as s:
        deadlined = union(select(Job.id).where(Job.schedule_to_start_s.is_not(None)),
                          select(Job.id).where(Job.starting_deadline_s.is_not(None)))
        ids = select(deadlined.subquery().c.id)
        job_ids = list(s.scalars(ids.limit(MANY_JOBS + 1)))
        if not job_ids:
            return []
        q = (select(Job, Run).join(Run, Run.job_id == Job.id)
             .where(Job.id.in_(job_ids if len(job_ids) <= MANY_JOBS else ids),
                    Run.status.in_([RunStatus.QUEUED.value, RunStatus.PENDING.value]))
             .order_by(Run.created_at).limit(limit))
        return [(job, run) for job, run in s.execute(q).all()]
