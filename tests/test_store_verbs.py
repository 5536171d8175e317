"""Every verb of the store port (``clawsched.sched.store.*``), on every backend of the ``store`` fixture: the
same rows in, the same answer and the same rows out, whichever dialect's path the verb takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql

from clawsched.sched import jobs, runs
from clawsched.sched.errors import RunOverlap
from clawsched.sched.outcomes import Outcome
from clawsched.sched.rules import attempts, schedules
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store import claims, deliveries, finishing, followups, liveness, starting, upkeep
from clawsched.sched.store.finishing import Finalize
from clawsched.sched.store.models import JOBS, RUNS, Approval, Delivery, Run
from clawsched.sched.store.run_rows import follow_up, new_run
from clawsched.workers import gates

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FREE = gates.all_free(gates.GATES)
W = starting.Worker("host-a", 4242, "w-1")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_job(store: Any, name: str = "j", **fields: Any) -> Any:
    spec = {"session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000, "name": name,
            "schedule_cron": "0 0 1 1 *", **fields}
    return jobs.create(store, {k: v for k, v in spec.items() if v is not None}, now=T0)


def make_run(store: Any, job_id: str, status: RunStatus = RunStatus.QUEUED, **values: Any) -> str:
    return runs.enqueue(store, job_id, status=status, now=T0, **values)


def running(store: Any, job_id: str, **values: Any) -> Any:
    return runs.get(store, make_run(store, job_id, RunStatus.RUNNING, **{"started_at": T0, "last_heartbeat": T0,
                                                                         **values}))


def set_run(store: Any, run_id: str, table: Any = RUNS, **values: Any) -> None:
    with store.session() as s:
        s.execute(update(table).where(table.c.id == run_id).values(**values))


def set_job(store: Any, job_id: str, **values: Any) -> Any:
    set_run(store, job_id, JOBS, **values)
    return jobs.get(store, job_id)


def assert_started(store: Any, run_id: str, now: datetime, no_overlap: bool) -> None:
    row = runs.get(store, run_id)
    assert (row.status, row.started_at, row.last_heartbeat, row.no_overlap) == ("running", now, now, no_overlap)
    assert (row.hostname, row.pid, row.worker_id, row.skip_reason) == ("host-a", 4242, "w-1", None)


def test_load_returns_run_and_job_and_the_run_ends_up_started_the_same_way_on_both_dialects(store):
    job = make_job(store, overlap_policy="allow")
    run_id = make_run(store, job.id, skip_reason="waited before")
    loaded = starting.load(store, run_id, free=FREE, worker=W, now=at(1))
    assert loaded is not None and (loaded.job.id, loaded.job.name, loaded.run.id) == (job.id, "j", run_id)
    assert loaded.run.status == "queued"  # the row as it was read, before any start
    assert loaded.started is (store.dialect == "postgresql")  # the one-statement start is PostgreSQL's
    assert starting.start(store, run_id, worker=W, now=at(1)) is not loaded.started  # started exactly once
    assert_started(store, run_id, at(1), no_overlap=False)  # overlap allow
    assert starting.load(store, run_id, free=FREE, worker=W, now=at(2)) is None  # no longer queued
    assert starting.start(store, run_id, worker=W, now=at(2)) is False  # a duplicate message
    pending = make_run(store, job.id, RunStatus.PENDING)
    assert starting.start(store, pending, worker=W, now=at(3)) is False and runs.get(store, pending).status == "pending"


def test_load_leaves_queued_every_run_a_gate_must_see_or_that_still_needs_its_key(store):
    pooled = make_run(store, make_job(store, "pool", resource_pool="gpu").id)
    chained = make_run(store, make_job(store, "off", enabled=False).id, trigger=Trigger.CHAIN)
    agent = make_run(store, make_job(store, "agent", session_target="isolated", agent_id="main").id)
    keyless_job = make_job(store, "once", delivery_guarantee="at-least-once")
    keyless = make_run(store, keyless_job.id)
    plain = make_run(store, make_job(store, "plain").id)
    for run_id in (pooled, chained, agent, keyless):
        loaded = starting.load(store, run_id, free=FREE, worker=W, now=at(1))
        assert loaded is not None and loaded.started is False and runs.get(store, run_id).status == "queued"
    loaded = starting.load(store, plain, free=None, worker=W, now=at(1))  # no condition: never started
    assert loaded is not None and loaded.started is False and runs.get(store, plain).status == "queued"
    key = starting.ensure_idempotency_key(store, keyless_job, runs.get(store, keyless))
    loaded = starting.load(store, keyless, free=FREE, worker=W, now=at(2))
    assert loaded is not None and loaded.run.idempotency_key == key
    assert loaded.started is (store.dialect == "postgresql")


def test_a_second_run_of_a_no_overlap_job_loads_unstarted_and_its_start_is_refused(store):
    job = make_job(store)  # overlap_policy skip
    first, second = make_run(store, job.id), make_run(store, job.id)
    assert starting.start(store, first, worker=W, now=at(1))
    assert runs.get(store, first).no_overlap is True and starting.running_exclusive(store, job.id) == first
    loaded = starting.load(store, second, free=FREE, worker=W, now=at(2))  # PostgreSQL: the CTE is refused
    assert loaded is not None and loaded.started is False and loaded.run.id == second
    with pytest.raises(RunOverlap):
        starting.start(store, second, worker=W, now=at(2))
    assert runs.get(store, second).status == "queued"
    allow = make_job(store, "allow", overlap_policy="allow")
    assert starting.start(store, make_run(store, allow.id), worker=W, now=at(1))
    assert starting.running_exclusive(store, allow.id) is None


def test_the_one_statement_load_is_built_once_per_condition_and_reports_whether_it_started(store):
    statement = starting.load_and_start_statement(FREE)
    assert statement is starting.load_and_start_statement(gates.all_free(gates.GATES))  # equal conditions
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert sql.startswith("WITH started AS \n(UPDATE runs SET status=") and "AS started \nFROM jobs JOIN runs" in sql
    run_id = make_run(store, make_job(store).id)
    if store.dialect != "postgresql":  # no data-modifying CTE: load never starts a run
        assert starting.load(store, run_id, free=FREE, worker=W, now=at(1)).started is False
        return
    row = store.direct.first_values(statement, {"b_run_id": run_id, "b_now": at(1), **W.params()})
    assert row is not None and row[-1] is True
    assert_started(store, run_id, at(1), no_overlap=True)  # overlap skip


def test_skip_records_the_fire_on_the_run_and_the_job_once(store):
    job = make_job(store)
    queued, pending = make_run(store, job.id), make_run(store, job.id, RunStatus.PENDING)
    assert starting.skip(store, queued, "pool busy", now=at(5)) is True
    r = runs.get(store, queued)
    assert (r.status, r.skip_reason, r.summary, r.finished_at, r.duration_ms) == (
        "skipped", "pool busy", "skipped: pool busy", at(5), 0)
    after = jobs.get(store, job.id)
    assert (after.last_status, after.last_run_at, after.consecutive_errors) == ("skipped", at(5), 0)
    assert starting.skip(store, queued, "again", now=at(6)) is False
    assert runs.get(store, queued).skip_reason == "pool busy"
    assert starting.skip(store, pending, "gone", now=at(7)) is False  # not queued
    assert starting.skip(store, pending, "gone", now=at(7), from_status=RunStatus.PENDING) is True


def test_defer_puts_a_queued_run_back_and_waiting_count_counts_the_waiters(store):
    job = make_job(store)
    a, b = make_run(store, job.id, dispatched_at=T0), make_run(store, job.id)
    make_run(store, job.id, RunStatus.PENDING)  # pending without a reason: not waiting its turn
    make_run(store, job.id, RunStatus.SKIPPED, skip_reason="old")  # finished: not waiting
    assert starting.waiting_count(store, job.id, besides=a) == 0
    assert starting.defer(store, a, not_before=at(30), reason="waiting: busy") is True
    r = runs.get(store, a)
    assert (r.status, r.not_before, r.skip_reason, r.dispatched_at) == ("pending", at(30), "waiting: busy", None)
    assert starting.defer(store, a, not_before=at(60), reason="again") is False
    assert runs.get(store, a).not_before == at(30)
    set_run(store, b, skip_reason="waiting: gateway unavailable")  # queued again, still waiting
    assert starting.waiting_count(store, job.id, besides="none") == 2
    assert starting.waiting_count(store, job.id, besides=a) == 1


@pytest.mark.parametrize(("finalize", "child", "finalized"), [
    (Finalize.NOW, False, True), (Finalize.NOW, True, True), (Finalize.UNLESS_CHILDREN, False, True),
    (Finalize.UNLESS_CHILDREN, True, False), (Finalize.LATER, False, False), (Finalize.LATER, True, False)])
def test_finish_loaded_ok_finalises_as_told_and_books_the_job(store, finalize, child, finalized):
    job = make_job(store, "parent")
    if child:
        make_job(store, "child", parent_id=job.id, trigger_on="success", schedule_cron=None)
    job = set_job(store, job.id, consecutive_errors=2)
    run = running(store, job.id)
    values = finishing.columns(run, Outcome(RunStatus.OK), at(3))
    done = finishing.finish_loaded(store, job, run, values, now=at(3), finalize=finalize)
    assert done is not None and done.finalized is finalized
    row = runs.get(store, run.id)
    assert (row.status, row.finished_at, row.duration_ms) == ("ok", at(3), 3000)
    assert row.finalized_at == done.run.finalized_at == (at(3) if finalized else None)
    after = jobs.get(store, job.id)
    assert (after.last_status, after.last_run_at, after.consecutive_errors) == ("ok", at(3), 0)
    assert after.updated_at == job.updated_at  # a run does not move the definition's change time
    if finalized:
        assert done.job is job  # nothing downstream reads the job
    else:
        assert done.job is not None and (done.job.last_status, done.job.consecutive_errors) == ("ok", 0)
    assert finishing.finish_loaded(store, job, run, values, now=at(4), finalize=finalize) is None
    assert jobs.get(store, job.id).last_run_at == at(3)  # the job is booked only with its run


@pytest.mark.parametrize(("max_retries", "errors", "next_at"), [(0, 2, at(63)), (1, 1, at(10))])
def test_finish_loaded_of_a_failure_counts_it_only_when_final_and_backs_off(store, max_retries, errors, next_at):
    job = set_job(store, make_job(store, max_retries=max_retries).id, consecutive_errors=1, next_run_at=at(10))
    run = running(store, job.id)
    values = finishing.columns(run, Outcome(RunStatus.ERROR, error_message="exit 3"), at(3))
    done = finishing.finish_loaded(store, job, run, values, now=at(3), finalize=Finalize.NOW)
    assert done is not None and done.finalized is True and runs.get(store, run.id).finalized_at == at(3)
    after = jobs.get(store, job.id)
    assert (after.last_status, after.last_run_at, after.consecutive_errors) == ("error", at(3), errors)
    assert after.next_run_at == next_at  # a final second failure rests a minute; a retried one moves nothing
    assert done.job is not None and done.job.consecutive_errors == errors
    assert finishing.finish_loaded(store, job, run, values, now=at(4), finalize=Finalize.NOW) is None


@pytest.mark.parametrize(("status", "max_retries", "enabled"), [
    (RunStatus.OK, 0, False), (RunStatus.ERROR, 0, False), (RunStatus.ERROR, 1, True)])
def test_an_at_job_is_disabled_by_its_final_attempt(store, status, max_retries, enabled):
    job = make_job(store, "once", schedule_cron=None, schedule_kind="at", schedule_at="2026-06-01T00:00:00Z",
                   max_retries=max_retries)
    run = running(store, job.id)
    values = finishing.columns(run, Outcome(status), at(1))
    assert finishing.finish_loaded(store, job, run, values, now=at(1), finalize=Finalize.NOW) is not None
    after = jobs.get(store, job.id)
    assert (after.enabled, after.last_status) == (enabled, status.value)


def test_columns_preview_finish_and_mark_finalized(store):
    job = make_job(store)
    run = running(store, job.id)
    values = finishing.columns(run, Outcome(RunStatus.OK, summary="done", shell={"shell_exit_code": 0}), at(2.5))
    assert values == {"finished_at": at(2.5), "duration_ms": 2500, "status": "ok", "summary": "done",
                      "error_message": None, "shell_exit_code": 0}
    seen = finishing.preview(run, values)  # the row as the UPDATE would leave it, and nothing written
    assert (seen.id, seen.job_id, seen.status, seen.duration_ms, seen.started_at) == (run.id, job.id, "ok", 2500, T0)
    done = finishing.finish(store, run.id, Outcome(RunStatus.TIMEOUT, summary="too slow"), now=at(2))
    assert (done.status, done.summary, done.duration_ms, done.finalized_at) == ("timeout", "too slow", 2000, None)
    assert finishing.finish(store, run.id, Outcome(RunStatus.OK), now=at(3)) is None
    finishing.mark_finalized(store, run.id, now=at(4))
    finishing.mark_finalized(store, run.id, now=at(5))
    assert (runs.get(store, run.id).status, runs.get(store, run.id).finalized_at) == ("timeout", at(4))
    assert finishing.finish(store, make_run(store, job.id), Outcome(RunStatus.OK), now=at(3)) is None
    assert finishing.finish(store, "no-such-run", Outcome(RunStatus.OK), now=at(3)) is None


@pytest.mark.parametrize(("guarantee", "replays", "errors"), [
    ("at-least-once", 0, 0), ("at-least-once", attempts.MAX_REPLAYS, 1), ("at-most-once", 0, 1)])
def test_crash_takes_a_silent_run_and_counts_it_unless_a_replay_follows(store, guarantee, replays, errors):
    job = make_job(store, delivery_guarantee=guarantee)
    earlier = [make_run(store, job.id, RunStatus.CRASHED)]
    for _ in range(replays - 1):  # the run below is replay number ``replays``
        earlier.append(make_run(store, job.id, RunStatus.CRASHED, trigger=Trigger.REPLAY, replay_of=earlier[-1]))
    run = running(store, job.id, **({"replay_of": earlier[-1], "trigger": Trigger.REPLAY} if replays else {}))
    with store.read() as s:
        assert finishing.replays_before(s, s.get(Run, run.id)) == followups.earlier_replays(store, run) == replays
    assert finishing.crash(store, run.id, stale_before=T0, reason="lost", now=at(9)) is None  # heartbeat not older
    crashed = finishing.crash(store, run.id, stale_before=at(5), reason="lost", now=at(9))
    assert crashed is not None and (crashed.status, crashed.error_message) == ("crashed", "lost")
    row = runs.get(store, run.id)
    assert (row.status, row.finished_at, row.duration_ms, row.error_message) == ("crashed", at(9), 9000, "lost")
    after = jobs.get(store, job.id)
    assert (after.last_status, after.last_run_at, after.consecutive_errors) == ("crashed", at(9), errors)
    assert finishing.crash(store, run.id, stale_before=at(20), reason="again", now=at(21)) is None


def test_heartbeat_many_refreshes_running_runs_and_stale_finds_the_silent_ones(store):
    job = make_job(store, overlap_policy="allow")
    a, b = running(store, job.id).id, running(store, job.id, last_heartbeat=at(8)).id
    queued = make_run(store, job.id, last_heartbeat=T0)
    assert {r.id for r in liveness.stale(store, 5, now=at(10))} == {a}  # b beat 2 s ago; queued is not running
    assert liveness.heartbeat_many(store, [a, b, queued, "gone"], now=at(10)) == {a, b}
    assert liveness.heartbeat_many(store, [], now=at(10)) == set()
    assert [runs.get(store, r).last_heartbeat for r in (a, b, queued)] == [at(10), at(10), T0]
    assert liveness.stale(store, 5, now=at(12)) == []


def test_new_run_and_follow_up_build_the_rows_insert_run_writes_once_per_unique_key(store):
    job = make_job(store)
    original = make_run(store, job.id, RunStatus.CRASHED)
    assert new_run(job.id, 5000, trigger=Trigger.MANUAL, now=T0, run_id="r1") == {
        "id": "r1", "job_id": job.id, "status": "pending", "trigger": "manual", "created_at": T0, "not_before": T0,
        "run_timeout_ms": 5000}
    values = follow_up(job, trigger=Trigger.REPLAY, now=at(1), not_before=at(5), replay_of=original, chain_depth=2)
    assert followups.insert_run(store, values) is True
    row = runs.get(store, values["id"])
    assert (row.job_id, row.status, row.trigger, row.replay_of, row.chain_depth, row.run_timeout_ms) == (
        job.id, "pending", "replay", original, 2, 5000)
    assert (row.created_at, row.not_before) == (at(1), at(5))
    again = follow_up(job, trigger=Trigger.REPLAY, now=at(2), replay_of=original)
    assert followups.insert_run(store, again) is False  # replay_of is unique
    retry = follow_up(job, trigger=Trigger.RETRY, now=at(2), retry_of=original, retry_count=1)
    assert followups.insert_run(store, retry) is True
    assert followups.insert_run(store, {**retry, "id": "other"}) is False  # retry_of is unique
    assert sorted(r.trigger for r in runs.for_job(store, job.id)) == ["manual", "replay", "retry"]


def test_insert_child_writes_pending_awaiting_approval_or_skipped_and_each_once(store):
    parent = make_job(store, "parent")
    plain, gated = (make_job(store, n, parent_id=parent.id, trigger_on="success", schedule_cron=None,
                             approval_required=n == "gated", max_pending_approvals=1) for n in ("plain", "gated"))
    assert [j.id for j in followups.children_of(store, parent.id)] == [plain.id, gated.id]
    assert followups.children_of(store, plain.id) == []
    parent_run = make_run(store, parent.id, RunStatus.OK)
    fired: dict[str, dict[str, Any]] = {}
    for child in (plain, gated):
        fired[child.name] = follow_up(child, trigger=Trigger.CHAIN, now=at(1), triggered_by_run=parent_run)
        assert followups.insert_child(store, child, fired[child.name], refused=None, now=at(1)) is True
        dup = follow_up(child, trigger=Trigger.CHAIN, now=at(2), triggered_by_run=parent_run)
        assert followups.insert_child(store, child, dup, refused=None, now=at(2)) is False
    assert runs.get(store, fired["plain"]["id"]).status == "pending"
    assert (fired["gated"]["status"], runs.get(store, fired["gated"]["id"]).status) == ("awaiting_approval",) * 2
    with store.read() as s:
        approvals = [a.run_id for a in s.scalars(select(Approval).where(Approval.job_id == gated.id))]
    assert approvals == [fired["gated"]["id"]]
    backlog = follow_up(gated, trigger=Trigger.CHAIN, now=at(3), triggered_by_run=make_run(store, parent.id))
    assert followups.insert_child(store, gated, backlog, refused=None, now=at(3)) is True
    deep = follow_up(plain, trigger=Trigger.CHAIN, now=at(3), triggered_by_run=make_run(store, parent.id))
    assert followups.insert_child(store, plain, deep, refused="chain depth 11", now=at(3)) is True
    for values, reason in ((backlog, "approval backlog limit reached (1 pending)"), (deep, "chain depth 11")):
        row = runs.get(store, values["id"])
        assert (row.status, row.skip_reason, row.finished_at, row.duration_ms) == ("skipped", reason, at(3), 0)


@pytest.mark.parametrize(("guarantee", "status", "retry_count", "replays", "final"), [
    *(("at-most-once", status, retries, 0, final) for status, retries, final in (
        ("ok", 0, True), ("running", 0, False), ("error", 0, False), ("error", 1, True), ("crashed", 0, True))),
    ("at-least-once", "crashed", 0, 0, False), ("at-least-once", "crashed", 0, attempts.MAX_REPLAYS, True)])
def test_is_final_says_whether_anything_else_will_be_attempted(store, guarantee, status, retry_count, replays, final):
    job = make_job(store, delivery_guarantee=guarantee, max_retries=1)
    run_id = make_run(store, job.id, RunStatus.CRASHED)
    for _ in range(replays):
        run_id = make_run(store, job.id, RunStatus.CRASHED, trigger=Trigger.REPLAY, replay_of=run_id)
    set_run(store, run_id, status=status, retry_count=retry_count)
    assert followups.is_final(store, job, runs.get(store, run_id)) is final


def test_sharing_slots_and_release_waiters_make_the_pools_waiting_runs_due(store):
    a, b = make_job(store, "a", resource_pool="gpu"), make_job(store, "b", resource_pool="gpu")
    alone = make_job(store, "alone")
    assert sorted(followups.sharing_slots(store, a)) == sorted([a.id, b.id])
    assert followups.sharing_slots(store, alone) == [alone.id]
    waiting = [make_run(store, j.id, RunStatus.PENDING, not_before=at(60), skip_reason="waiting") for j in (a, b)]
    untouched = [make_run(store, a.id, RunStatus.PENDING, not_before=at(60)),  # no reason: a retry's delay
                 make_run(store, b.id, RunStatus.PENDING, not_before=at(5), skip_reason="waiting"),  # due by now
                 make_run(store, alone.id, RunStatus.PENDING, not_before=at(60), skip_reason="waiting")]
    assert followups.release_waiters(store, followups.sharing_slots(store, a), now=at(10)) == 2
    assert [runs.get(store, r).not_before for r in waiting + untouched] == [at(10), at(10), at(60), at(5), at(60)]
    assert followups.release_waiters(store, [], now=at(10)) == 0


def test_a_delivery_is_claimed_once_and_settled_and_recent_statuses_list_newest_first(store):
    job = make_job(store, overlap_policy="allow")
    for i, status in enumerate((RunStatus.OK, RunStatus.TIMEOUT, RunStatus.RUNNING)):
        make_run(store, job.id, status, finished_at=None if status == RunStatus.RUNNING else at(i - 2))
    run_id = make_run(store, job.id, RunStatus.ERROR, finished_at=at(1))
    assert deliveries.recent_statuses(store, job.id, at(1)) == ["error", "timeout", "ok"]
    assert deliveries.recent_statuses(store, job.id, at(0), limit=1) == ["timeout"]
    row = deliveries.claim(store, run_id, "announce", "chan:1", now=at(2))
    assert row is not None and (row.status, row.attempts, row.created_at) == ("sending", 1, at(2))
    assert deliveries.claim(store, run_id, "announce", "chan:1", now=at(3)) is None
    failed = deliveries.claim(store, run_id, "failure_alert", "chan:1", now=at(3))
    assert failed is not None and failed.id != row.id
    deliveries.settle(store, row.id, now=at(4))
    deliveries.settle(store, failed.id, now=at(4), error="502", attempts=3)
    with store.read() as s:
        got = {d.kind: (d.status, d.attempts, d.error, d.delivered_at) for d in s.scalars(select(Delivery))}
    assert got == {"announce": ("delivered", 1, None, at(4)), "failure_alert": ("failed", 3, "502", None)}
    assert deliveries.claim(store, run_id, "announce", "chan:1", now=at(5)) is None  # settled: never re-sent
    assert deliveries.last_delivered(store, job.id, "announce") == at(4)
    assert deliveries.last_delivered(store, job.id, "failure_alert") is None  # it failed


def test_upkeep_requeues_lost_runs_lists_unfinalised_ones_and_prunes_finalised_history(store):
    job = make_job(store, overlap_policy="allow")
    old, older, fresh = (make_run(store, job.id, dispatched_at=t) for t in (at(1), T0, at(9)))
    assert upkeep.mark_resent(store, upkeep.queued_before(store, before=at(5)), now=at(10)) == [older, old]
    assert [runs.get(store, r).dispatched_at for r in (old, older, fresh)] == [at(10), at(10), at(9)]
    assert upkeep.queued_before(store, before=at(5)) == []
    late, early = (make_run(store, job.id, RunStatus.OK, finished_at=at(s)) for s in (3, 1))
    make_run(store, job.id, RunStatus.RUNNING, finished_at=at(1), dispatched_at=T0)  # neither lost nor finished
    done = [make_run(store, job.id, RunStatus.ERROR, finished_at=at(1), finalized_at=at(2)) for _ in range(3)]
    assert upkeep.unfinalized(store, finished_before=at(5)) == [early, late]
    assert upkeep.unfinalized(store, finished_before=at(2)) == [early]
    deliveries.claim(store, done[0], "announce", "x", now=at(2))
    assert upkeep.prune_runs(store, created_before=T0) == 0
    assert upkeep.prune_runs(store, created_before=at(1), batch=2) == 3
    with store.read() as s:
        assert s.scalars(select(Delivery)).all() == []  # cascaded with its run
    assert len(runs.for_job(store, job.id)) == 6


def test_claim_due_fires_queues_each_due_fire_once_and_moves_the_job_on(store):
    due, taken = (set_job(store, make_job(store, n).id, next_run_at=at(1)) for n in ("due", "taken"))
    set_job(store, make_job(store, "off", enabled=False).id, next_run_at=at(1))
    make_job(store, "later")  # next fire 2027-01-01
    make_run(store, taken.id, scheduled_for=at(1))  # another beat claimed this fire
    ((run_id, job_name, route),) = claims.claim_due_fires(store, at(5))
    row = runs.get(store, run_id)
    assert (row.job_id, job_name, route, row.status, row.trigger, row.scheduled_for, row.dispatched_at) == (
        due.id, due.name, "shell", "queued", "schedule", at(1), at(5))
    upcoming = schedules.advance(schedules.Schedule.of(due), at(1), at(5))
    assert upcoming is not None and upcoming > at(5)
    assert [jobs.get(store, j.id).next_run_at for j in (due, taken)] == [upcoming, upcoming]
    assert claims.claim_due_fires(store, at(5)) == []


def test_claim_due_runs_and_next_due_at(store):
    job = set_job(store, make_job(store, overlap_policy="allow").id, next_run_at=at(100))
    assert claims.next_due_at(store) == at(100)
    later, soon = (make_run(store, job.id, RunStatus.PENDING, not_before=at(s)) for s in (50, 2))
    make_run(store, job.id, RunStatus.QUEUED, not_before=T0)
    assert claims.next_due_at(store) == at(2)
    assert claims.claim_due_runs(store, at(10)) == [(soon, job.name, "shell")]
    row = runs.get(store, soon)
    assert (row.status, row.dispatched_at) == ("queued", at(10))
    assert claims.claim_due_runs(store, at(10)) == [] and claims.next_due_at(store) == at(50)
    set_job(store, job.id, enabled=False)
    set_run(store, later, status="cancelled")
    assert claims.next_due_at(store) is None
