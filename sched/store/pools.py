"""Resource pools: at most ``slots`` runs of a pool's jobs run at once, on every worker, held in SQL.

A slot is the run row itself: a ``running`` run of a pool's job holds one. Taking a slot *is* the start
(queued -> running), done in one transaction that first locks the pool (PostgreSQL: a transaction-scoped
advisory lock on its name; SQLite: ``BEGIN IMMEDIATE`` already serialises writers), then counts the
running runs and the older waiters of the pool. Nothing of it lives in Redis, so losing Redis's keys
(``FLUSHALL``, a restart without persistence) cannot let a second run into a one-slot pool; a run whose
worker died holds its slot exactly as long as it is believed running, until the reaper closes it.

Waiting is in order: a run takes a free slot only when no older run of the pool waits for one, so a
steady stream of new fires cannot starve a chain step that has waited longer. A pool's capacity is the
smallest ``pool_slots`` any of its jobs gives, one when none does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BindParameter, and_, bindparam, func, literal_column, or_, select

from clawsched.sched.errors import PoolBusy, RunOverlap
from clawsched.sched.states import RunStatus

from . import retrying
from .engine import Store
from .starting import START, STARTED_MINE, Worker
from .tables import JOBS, RUNS, UTCDateTime

WAITING_PREFIX = "waiting: resource_pool"
"""How a run that waits for a slot says so in ``skip_reason`` (``workers.execution`` writes it)."""

_POOL: BindParameter[str] = bindparam("b_pool")
_IN_POOL = and_(JOBS.c.id == RUNS.c.job_id, JOBS.c.resource_pool == _POOL)
_SLOTS = select(func.coalesce(func.min(JOBS.c.pool_slots), 1)).where(JOBS.c.resource_pool == _POOL)
_HOLDERS = (select(RUNS.c.id).select_from(JOBS).join(RUNS, _IN_POOL)
            .where(RUNS.c.status == RunStatus.RUNNING.value).order_by(RUNS.c.started_at))
_AHEAD = (select(func.count()).select_from(JOBS).join(RUNS, _IN_POOL)
          .where(or_(RUNS.c.status == RunStatus.PENDING.value, RUNS.c.status == RunStatus.QUEUED.value),
                 RUNS.c.skip_reason.like(f"{WAITING_PREFIX}%"), RUNS.c.id != bindparam("b_run_id"),
                 RUNS.c.created_at < bindparam("b_created_at", type_=UTCDateTime())))
_BUSY = (select(func.count()).select_from(JOBS).join(RUNS, _IN_POOL)
         .where(RUNS.c.status == RunStatus.RUNNING.value))
_STATUS = select(RUNS.c.status).where(RUNS.c.id == bindparam("b_run_id"))
STATE = select(_STATUS.scalar_subquery().label("status"), _SLOTS.scalar_subquery().label("slots"),
               _BUSY.scalar_subquery().label("busy"), _AHEAD.scalar_subquery().label("ahead"))
HOLDERS = _HOLDERS.limit(5)
LOCK = select(func.pg_advisory_xact_lock(literal_column("7733"), func.hashtext(_POOL)))


def start(store: Store, run_id: str, *, pool: str, created_at: datetime, worker: Worker, now: datetime) -> bool:
    """queued -> running, taking a slot of ``pool``. False when another worker (or a cancel) got there first.

    Raises ``PoolBusy`` (with who holds the slots) when the pool is full or older runs wait for it, and
    ``RunOverlap`` as ``starting.start`` does. Transient failures are retried for ``retrying.START``; a
    retry that matches nothing asks whether the run is running as this worker started it at ``now``.
    """
    def attempt(retried: bool) -> bool:
        return _start(store, run_id, pool, created_at, worker, now, retried)

    return retrying.call(lambda: attempt(False), bound=retrying.START, what=f"run {run_id}: taking a slot of "
                         f"pool {pool!r}", again=lambda: attempt(True))


def _start(store: Store, run_id: str, pool: str, created_at: datetime, worker: Worker, now: datetime,
           retried: bool) -> bool:
    direct = store.direct
    params = {"b_run_id": run_id, "b_now": now, "b_pool": pool, "b_created_at": created_at, **worker.params()}
    if retried and direct.first_values(STARTED_MINE, params) is not None:
        return True
    with direct.transaction() as tx:
        if not direct.sqlite:
            tx.first(LOCK, params)
        state = tx.first(STATE, params)
        assert state is not None, "an aggregate returns one row"
        if state["status"] != RunStatus.QUEUED.value:
            return False  # a duplicate message, a cancel: someone else has it
        slots, busy, ahead = int(state["slots"]), int(state["busy"]), int(state["ahead"])
        if busy + ahead >= slots:
            holders = tx.column(HOLDERS, params) if busy else []
            raise PoolBusy(pool, slots=slots, busy=busy, holders=holders, ahead=ahead)
        try:
            return tx.run(START, params) == 1
        except direct.integrity_errors as exc:
            raise RunOverlap(f"run {run_id}: another run of its job is running") from exc

