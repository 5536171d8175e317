"""What the beat claims in SQL: due fires of scheduled jobs, and pending runs whose time has come.

A fire is claimed in one transaction that advances ``jobs.next_run_at`` (guarded by the value it read)
and inserts the run (unique per job and scheduled instant). Several beats may run at once: on PostgreSQL
the due rows are locked with ``FOR UPDATE SKIP LOCKED`` so beats split the work; on SQLite the write
transaction is exclusive. Either way each fire is claimed exactly once. The cost of a claim follows what
is due, never how many jobs exist: both queries walk an index from its start.

A job whose fires piled up (the beat was down or behind) is planned by ``rules.misfire``: the fires it
runs are inserted like any other, and the ones it does not are recorded ``missed`` (``misfires``) in the
same transaction. The job moves on to its first slot after ``now`` either way.

A top-of-hour fan-out claims thousands of fires at once, so a batch costs a constant number of statements
on PostgreSQL (arrays through ``unnest``) and one C-level executemany per statement on SQLite, all in Core.

Each claim returns ``Claimed`` runs: the run id, its job's name and its route (``rules.routing``: the
queue its target or its job names), read by the claim's own statement, so the beat can name the job in the
run's message (what Flower shows) and send it to its queue without a query per run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, String, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from clawsched.sched.rules import misfire, routing, schedules
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store import misfires
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import JOBS, RUNS, Job, Run, UTCDateTime, new_id, run_has_status
from clawsched.sched.store.run_rows import new_run

log = logging.getLogger(__name__)

# What a fire's claim reads of its job: the schedule and misfire policy, the name and run timeout for the run
# it creates, and what its failure alert needs to know whether a missed record is for the pipeline.
SCHEDULE_COLUMNS = (
    JOBS.c.id, JOBS.c.next_run_at, JOBS.c.schedule_kind, JOBS.c.schedule_cron, JOBS.c.schedule_tz,
    JOBS.c.schedule_at, JOBS.c.schedule_every_ms, JOBS.c.schedule_anchor, JOBS.c.stagger_ms, JOBS.c.run_timeout_ms,
    JOBS.c.name, JOBS.c.session_target, JOBS.c.queue, JOBS.c.catchup, JOBS.c.catchup_window_s,
    JOBS.c.starting_deadline_s, JOBS.c.failure_alert, JOBS.c.delivery_to, JOBS.c.delivery_mode, JOBS.c.delivery_channel,
)


class Claimed(NamedTuple):
    """A run claimed to be sent now, its job's name (the message names it for Flower) and its route."""

    run_id: str
    job_name: str
    route: str = routing.SHELL


class Fire(NamedTuple):
    """One claimed job: the instant it was due (the guard), its next slot, and the run sent now (None when
    every due fire was missed) with the slot it is for."""

    job_id: str
    due: datetime
    upcoming: datetime | None
    run_id: str | None
    run_timeout_ms: int | None
    job_name: str
    route: str
    slot: datetime


def due_fires_query(dialect: str, now: datetime, limit: int) -> Any:
    """Due jobs in fire order, walking ``ix_jobs_due``; on PostgreSQL locked so concurrent beats split them."""
    q = (
        select(*SCHEDULE_COLUMNS)
        .where(JOBS.c.enabled.is_(True), JOBS.c.next_run_at <= now)
        .order_by(JOBS.c.next_run_at)
        .limit(limit)
    )
    return q.with_for_update(skip_locked=True, of=JOBS) if dialect == "postgresql" else q


def claim_due_fires(store: Store, now: datetime, limit: int = 500, *,
                    observe: Callable[[list[tuple[Any, datetime]]], None] | None = None,
                    missed: Callable[[list[str]], None] | None = None,
                    replay_interval: timedelta = misfire.REPLAY_INTERVAL) -> list[Claimed]:
    """Claim up to ``limit`` due jobs; returns the queued runs to send to the workers. ``observe``, when
    given, is handed each claimed job's row (its schedule columns) and due instant after the commit;
    ``missed`` the reason of each missed record written.

    Core on one connection, not an ORM session: the batch statements below are Core, and nothing here needs
    ORM objects.
    """
    with store.engine.begin() as conn:
        rows = conn.execute(due_fires_query(store.dialect, now, limit)).all()
        if not rows:
            return []
        plans = [_plan(row, now) for row in rows]
        fires = [Fire(row.id, row.next_run_at, p.upcoming, new_id() if p.runs else None, row.run_timeout_ms,
                      row.name, routing.route(row.session_target, row.queue), p.runs[0] if p.runs else row.next_run_at)
                 for row, p in zip(rows, plans, strict=True)]
        sent = [f for f in fires if f.run_id is not None]
        if store.dialect == "postgresql":
            _advance_pg(conn, fires)
            claimed = _insert_runs_pg(conn, sent, now) if sent else []
        else:
            _advance_executemany(conn, fires)
            claimed = _insert_runs_executemany(conn, sent, now) if sent else []
        recorded = _record_misfires(conn, rows, plans, now, replay_interval)
    if observe is not None:
        kept = {c.run_id for c in claimed}
        observe([(row, fire.due) for row, fire in zip(rows, fires, strict=True) if fire.run_id in kept])
    if missed is not None and recorded:
        missed(recorded)
    return claimed


def _plan(row: Any, now: datetime) -> misfire.FirePlan:
    """The misfire plan of one due job; a job on time with no policy costs one schedule step, as before."""
    schedule = schedules.Schedule.of(row)
    if row.catchup in (None, "latest") and row.catchup_window_s is None and row.starting_deadline_s is None:
        upcoming = schedule.next_after(row.next_run_at)
        if upcoming is None or upcoming > now:
            return misfire.FirePlan((row.next_run_at,), (), upcoming)
    return misfire.plan(schedule, misfire.Policy.of(row), row.next_run_at, now)


def _record_misfires(conn: Connection, rows: Sequence[Any], plans: Sequence[misfire.FirePlan], now: datetime,
                     interval: timedelta) -> list[str]:
    """Write the missed records and the later replays of the claimed jobs; the reasons of the records."""
    missed_rows, replays = [], []
    for row, p in zip(rows, plans, strict=True):
        missed_rows += [misfires.missed_row(row, m, now) for m in p.missed]
        replays += misfires.replay_rows(row, p.runs, now, interval)
    written = misfires.insert_rows(conn, missed_rows)
    misfires.insert_rows(conn, replays)
    for row in written:
        log.info("job %s: fire %s missed (%s)", row["job_id"], row["scheduled_for"], row["skip_reason"])
    return [str(row["skip_reason"]).split(":", 1)[0] for row in written]


def _run_row(fire: Fire, now: datetime) -> dict[str, Any]:
    """The run a fire creates: queued and dispatched at once, because the beat sends it right after commit.
    (``_PG_INSERT`` writes the same columns from arrays.)"""
    return new_run(fire.job_id, fire.run_timeout_ms, trigger=Trigger.SCHEDULE, now=now, status=RunStatus.QUEUED,
                   run_id=fire.run_id, dispatched_at=now, scheduled_for=fire.slot)


# PostgreSQL: the advance and the insert are each one statement over arrays (``unnest``), so their SQL is
# the same for every batch and SQLAlchemy compiles it once. An ``UPDATE ... FROM (VALUES ...)`` of literal
# rows was compiled anew for every batch (~60 us a row of Python, a third of the claim), an executemany of
# single-row updates cost ~1 ms a row, and the ORM's bulk insert sent one INSERT per run.
_PG_ADVANCES = func.unnest(
    bindparam("job_ids", type_=ARRAY(String)),
    bindparam("dues", type_=ARRAY(UTCDateTime())),
    bindparam("upcomings", type_=ARRAY(UTCDateTime())),
).table_valued("job_id", "due", "upcoming").render_derived(name="a")
_PG_ADVANCE = (
    update(JOBS)
    .where(JOBS.c.id == _PG_ADVANCES.c.job_id, JOBS.c.next_run_at == _PG_ADVANCES.c.due)
    .values(next_run_at=_PG_ADVANCES.c.upcoming)
)
_PG_RUNS = func.unnest(
    bindparam("run_ids", type_=ARRAY(String)),
    bindparam("job_ids", type_=ARRAY(String)),
    bindparam("dues", type_=ARRAY(UTCDateTime())),
    bindparam("timeouts", type_=ARRAY(Integer)),
).table_valued("run_id", "job_id", "due", "run_timeout_ms").render_derived(name="r")
_PG_INSERT = insert(RUNS).from_select(
    ["id", "job_id", "scheduled_for", "run_timeout_ms", "status", "trigger", "created_at", "not_before",
     "dispatched_at"],
    select(
        _PG_RUNS.c.run_id, _PG_RUNS.c.job_id, _PG_RUNS.c.due, _PG_RUNS.c.run_timeout_ms,
        bindparam("status", type_=String), bindparam("trigger", type_=String),
        bindparam("now", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()),
        bindparam("now", type_=UTCDateTime()),
    ),
)


def _advance_pg(conn: Connection, fires: Sequence[Fire]) -> None:
    """Move each claimed job's ``next_run_at`` on, guarded by the value the claim read."""
    conn.execute(_PG_ADVANCE, {"job_ids": [f.job_id for f in fires], "dues": [f.due for f in fires],
                               "upcomings": [f.upcoming for f in fires]})


def _insert_runs_pg(conn: Connection, fires: Sequence[Fire], now: datetime) -> list[Claimed]:
    params = {"run_ids": [f.run_id for f in fires], "job_ids": [f.job_id for f in fires],
              "dues": [f.slot for f in fires], "timeouts": [f.run_timeout_ms for f in fires],
              "status": RunStatus.QUEUED.value, "trigger": Trigger.SCHEDULE.value, "now": now}
    try:
        with conn.begin_nested():
            conn.execute(_PG_INSERT, params)
    except IntegrityError:
        return _insert_one_by_one(conn, fires, [_run_row(f, now) for f in fires])
    return [Claimed(str(f.run_id), f.job_name, f.route) for f in fires]


# SQLite: an executemany runs its loop in C inside the driver, and the write lock taken at BEGIN makes the
# guard exact, so single-row statements are the cheap form there.
_ADVANCE_ONE = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("jid"), JOBS.c.next_run_at == bindparam("seen"))
    .values(next_run_at=bindparam("upcoming"))
)


def _advance_executemany(conn: Connection, fires: Sequence[Fire]) -> None:
    conn.execute(_ADVANCE_ONE, [{"jid": f.job_id, "seen": f.due, "upcoming": f.upcoming} for f in fires])


def _insert_runs_executemany(conn: Connection, fires: Sequence[Fire], now: datetime) -> list[Claimed]:
    rows = [_run_row(f, now) for f in fires]
    try:
        with conn.begin_nested():
            conn.execute(insert(RUNS), rows)
    except IntegrityError:
        return _insert_one_by_one(conn, fires, rows)
    return [Claimed(str(f.run_id), f.job_name, f.route) for f in fires]


def _insert_one_by_one(conn: Connection, fires: Sequence[Fire], rows: list[dict[str, Any]]) -> list[Claimed]:
    """Fallback when a batch hit the unique key: keep every fire that nobody else claimed."""
    kept = []
    for fire, row in zip(fires, rows, strict=True):
        try:
            with conn.begin_nested():
                conn.execute(insert(RUNS), [row])
            kept.append(Claimed(str(fire.run_id), fire.job_name, fire.route))
        except IntegrityError:
            log.info("fire of job %s at %s was already claimed", row["job_id"], row["scheduled_for"])
    return kept


def claim_due_runs(store: Store, now: datetime, limit: int = 500) -> list[Claimed]:
    """pending -> queued for runs whose not-before instant has passed (manual runs, retries, children)."""
    with store.session() as s:
        q = (
            select(Run.id, Job.name, Job.session_target, Job.queue)
            .join(Job, Job.id == Run.job_id)
            .where(Run.status == RunStatus.PENDING.value, Run.not_before <= now)
            .order_by(Run.not_before)
            .limit(limit)
        )
        if store.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True, of=Run)
        claimed = [Claimed(run_id, name, routing.route(target, queue)) for run_id, name, target, queue in s.execute(q)]
        if not claimed:
            return []
        s.execute(
            update(Run)
            .where(Run.id.in_([c.run_id for c in claimed]), run_has_status(RunStatus.PENDING.value))
            .values(status=RunStatus.QUEUED.value, dispatched_at=now)
        )
    return claimed


def claim_run(store: Store, run_id: str, now: datetime) -> Claimed | None:
    """pending -> queued for one run, to be sent by the caller at once (a long-lived process that queued
    it, such as the API); None when it is not pending (a beat claimed it first) or waits until later."""
    with store.session() as s:
        found = s.execute(select(Job.name, Job.session_target, Job.queue).join(Run, Run.job_id == Job.id)
                          .where(Run.id == run_id)).first()
        taken = s.execute(update(Run).where(Run.id == run_id, run_has_status(RunStatus.PENDING.value),
                                            Run.not_before <= now)
                          .values(status=RunStatus.QUEUED.value, dispatched_at=now)).rowcount
    if found is None or not taken:
        return None
    name, target, queue = found
    return Claimed(run_id, name, routing.route(target, queue))


def unclaim_run(store: Store, run_id: str, dispatched_at: datetime) -> bool:
    """queued -> pending for a run ``claim_run`` took whose message could not be sent, so a beat sends it;
    only if no worker has it yet (still queued, with the claim's ``dispatched_at``)."""
    with store.session() as s:
        return bool(s.execute(update(Run).where(Run.id == run_id, run_has_status(RunStatus.QUEUED.value),
                                                Run.dispatched_at == dispatched_at)
                              .values(status=RunStatus.PENDING.value, dispatched_at=None)).rowcount)


def with_job_names(store: Store, run_ids: Sequence[str]) -> list[Claimed]:
    """Runs to send again (their message was lost), each with its job's name, in one query."""
    if not run_ids:
        return []
    with store.read() as s:
        rows = s.execute(select(Run.id, Job.name, Job.session_target, Job.queue)
                         .join(Job, Job.id == Run.job_id).where(Run.id.in_(list(run_ids))))
        found = {run_id: Claimed(run_id, name, routing.route(target, queue)) for run_id, name, target, queue in rows}
    return [found.get(run_id) or Claimed(run_id, "") for run_id in run_ids]


def next_due_at(store: Store) -> datetime | None:
    """The earliest instant at which anything becomes due (a job fire or a pending run)."""
    with store.read() as s:
        job_next = s.scalar(
            select(Job.next_run_at).where(Job.enabled.is_(True), Job.next_run_at.is_not(None))
            .order_by(Job.next_run_at).limit(1)
        )
        run_next = s.scalar(
            select(Run.not_before).where(Run.status == RunStatus.PENDING.value, Run.not_before.is_not(None))
            .order_by(Run.not_before).limit(1)
        )
    candidates = [t for t in (job_next, run_next) if t is not None]
    return min(candidates) if candidates else None
