"""Resource pools and concurrency keys: at most N runs of a group of jobs run at once, on every worker,
held in SQL.

A slot is the run row itself: a ``running`` run of a group's job holds one. Taking a slot *is* the start
(queued -> running), done in one transaction that first locks each group of the run (PostgreSQL: a
transaction-scoped advisory lock on its name; SQLite: ``BEGIN IMMEDIATE`` already serialises writers),
then counts the running runs and the older waiters of each. Nothing of it lives in Redis, so losing
Redis's keys (``FLUSHALL``, a restart without persistence) cannot let a second run into a one-slot pool;
a run whose worker died holds its slot exactly as long as it is believed running, until the reaper
closes it.

Waiting is in order: a run takes a free slot only when no older run of the group waits for one, so a
steady stream of new fires cannot starve a chain step that has waited longer. A group's capacity is the
smallest any of its jobs gives (``pool_slots``, ``concurrency_limit``), one when none does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal_column, or_, select

from clawsched.sched.errors import PoolBusy, RunOverlap
from clawsched.sched.rules.limits import Limit, LimitKind
from clawsched.sched.states import RunStatus

from . import retrying
from .engine import Store
from .starting import START, STARTED_MINE, Worker
from .tables import JOBS, RUNS, UTCDateTime

_KEY = bindparam("b_key", type_=JOBS.c.resource_pool.type)


def members(kind: LimitKind) -> ColumnElement[bool]:
    """The jobs of a group, by what the group is."""
    if kind is LimitKind.POOL:
        return JOBS.c.resource_pool == _KEY
    if kind is LimitKind.PER_JOB:
        return and_(JOBS.c.id == _KEY, JOBS.c.concurrency_key == "job")
    if kind is LimitKind.PER_AGENT:
        return and_(JOBS.c.agent_id == _KEY, JOBS.c.concurrency_key == "agent")
    return JOBS.c.concurrency_key == _KEY


@dataclass(frozen=True)
class Statements:
    state: Any
    holders: Any


@functools.cache
def statements(kind: LimitKind) -> Statements:
    """The state of one group (``status`` of the run, ``slots``, ``busy``, ``ahead``) and its holders."""
    jobs_of = members(kind)
    capacity = JOBS.c.pool_slots if kind is LimitKind.POOL else JOBS.c.concurrency_limit
    in_group = and_(JOBS.c.id == RUNS.c.job_id, jobs_of)
    slots = select(func.coalesce(func.min(capacity), 1)).where(jobs_of)
    busy = select(func.count()).select_from(JOBS).join(RUNS, in_group).where(RUNS.c.status == RunStatus.RUNNING.value)
    ahead = (select(func.count()).select_from(JOBS).join(RUNS, in_group)
             .where(or_(RUNS.c.status == RunStatus.PENDING.value, RUNS.c.status == RunStatus.QUEUED.value),
                    RUNS.c.skip_reason.like(f"waiting: {kind.field}%"), RUNS.c.id != bindparam("b_run_id"),
                    RUNS.c.created_at < bindparam("b_created_at", type_=UTCDateTime())))
    status = select(RUNS.c.status).where(RUNS.c.id == bindparam("b_run_id"))
    state = select(status.scalar_subquery().label("status"), slots.scalar_subquery().label("slots"),
                   busy.scalar_subquery().label("busy"), ahead.scalar_subquery().label("ahead"))
    holders = (select(RUNS.c.id).select_from(JOBS).join(RUNS, in_group)
               .where(RUNS.c.status == RunStatus.RUNNING.value).order_by(RUNS.c.started_at).limit(5))
    return Statements(state, holders)


LOCK = select(func.pg_advisory_xact_lock(literal_column("7733"), func.hashtext(bindparam("b_lock"))))


def start(store: Store, run_id: str, *, limits: tuple[Limit, ...], created_at: datetime, worker: Worker,
          now: datetime) -> bool:
    """queued -> running, taking a slot of each of ``limits``. False when another worker (or a cancel)
    got there first.

    Raises ``PoolBusy`` (naming the group and who holds its slots) when a group is full or older runs
    wait for it, and ``RunOverlap`` as ``starting.start`` does. Transient failures are retried for
    ``retrying.START``; a retry first asks whether the run is running as this worker started it at ``now``.
    """
    def attempt(retried: bool) -> bool:
        return _start(store, run_id, limits, created_at, worker, now, retried)

    names = ", ".join(limit.label for limit in limits)
    return retrying.call(lambda: attempt(False), bound=retrying.START, what=f"run {run_id}: taking a slot of "
                         f"{names}", again=lambda: attempt(True))


def _start(store: Store, run_id: str, limits: tuple[Limit, ...], created_at: datetime, worker: Worker,
           now: datetime, retried: bool) -> bool:
    direct = store.direct
    params: dict[str, Any] = {"b_run_id": run_id, "b_now": now, "b_created_at": created_at, **worker.params()}
    if retried and direct.first_values(STARTED_MINE, params) is not None:
        return True
    with direct.transaction() as tx:
        for limit in sorted(limits, key=lambda li: li.lock):  # one order: two groups never deadlock
            if not direct.sqlite:
                tx.first(LOCK, {"b_lock": limit.lock})
        for limit in limits:
            found = statements(limit.kind)
            group = {**params, "b_key": limit.key}
            state = tx.first(found.state, group)
            assert state is not None, "an aggregate returns one row"
            if state["status"] != RunStatus.QUEUED.value:
                return False  # a duplicate message, a cancel: someone else has it
            slots, busy, ahead = int(state["slots"]), int(state["busy"]), int(state["ahead"])
            if busy + ahead >= slots:
                holders = tx.column(found.holders, group) if busy else []
                raise PoolBusy(limit.label, slots=slots, busy=busy, holders=holders, ahead=ahead)
        try:
            return tx.run(START, params) == 1
        except direct.integrity_errors as exc:
            raise RunOverlap(f"run {run_id}: another run of its job is running") from exc
