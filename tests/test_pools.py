"""Resource pools and concurrency keys: a capacity held in SQL, waiting in order, and a busy pool makes a
chain step or a retry wait instead of dropping it. Real Redis, SQLite and PostgreSQL; real worker
processes where two of them racing for the pool is the point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from clawsched.sched import jobs, metrics, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import PoolBusy, SpecError
from clawsched.sched.rules.limits import Limit, LimitKind, limits_for
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store import pools, starting
from clawsched.sched.store.models import RUNS
from clawsched.workers import execution
from tests.support.waiting import wait_for
from tests.test_workflow_recovery import workers

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
W = starting.Worker("host-a", 4242, "w-1")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pool_job(store: Any, name: str, pool: Any = "p", payload: str = "true", **fields: Any) -> Any:
    spec = {"name": name, "session_target": "shell", "payload_message": payload, "run_timeout_ms": 60_000,
            "schedule_cron": "0 0 1 1 *", "resource_pool": pool, **fields}
    return jobs.create(store, spec, now=T0)


def queued(store: Any, job_id: str, created: float = 0, **values: Any) -> str:
    return runs.enqueue(store, job_id, status=RunStatus.QUEUED, now=at(created), **values)


def set_run(store: Any, run_id: str, **values: Any) -> None:
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))


def take(store: Any, run_id: str, pool: str | None = "p", now: float = 1) -> bool:
    """Start the run the way a worker does: taking a slot of each group its job belongs to."""
    run = runs.get(store, run_id)
    groups = limits_for(jobs.get(store, run.job_id))
    assert pool is None or Limit(LimitKind.POOL, pool) in groups
    return pools.start(store, run_id, limits=groups, created_at=run.created_at, worker=W, now=at(now))


@pytest.mark.parametrize("given", [{"resource_pool": {"name": "gpu", "slots": 2}},
                                   {"resource_pool": "gpu", "pool_slots": 2}])
def test_a_pool_is_a_name_and_a_capacity_in_either_spelling(store, given):
    job = pool_job(store, "train", **given)
    assert (job.resource_pool, job.pool_slots) == ("gpu", 2)
    assert pool_job(store, "plain", "gpu").pool_slots is None


@pytest.mark.parametrize(("pool", "field", "says"), [
    ({"name": "gpu", "slot": 2}, "resource_pool.slot", "did you mean 'slots'"),
    ({"slots": 2}, "resource_pool.name", "is required"),
    ({"name": "gpu", "slots": 0}, "pool_slots", "must be >= 1"),
])
def test_a_bad_pool_is_refused_naming_the_field_and_nothing_is_written(store, pool, field, says):
    with pytest.raises(SpecError) as refused:
        pool_job(store, "bad", pool)
    assert any(e["field"] == field and says in e["message"] for e in refused.value.errors), refused.value.errors
    assert jobs.list_jobs(store) == []


def test_a_pool_runs_at_most_its_slots_and_the_smallest_capacity_wins(store):
    a, b = pool_job(store, "a", {"name": "p", "slots": 3}), pool_job(store, "b", {"name": "p", "slots": 2})
    first, second, third = queued(store, a.id), queued(store, b.id), queued(store, a.id)
    assert take(store, first) and take(store, second)
    with pytest.raises(PoolBusy) as busy:
        take(store, third)
    assert (busy.value.slots, busy.value.busy, busy.value.ahead) == (2, 2, 0)
    assert set(busy.value.holders) == {first, second} and "2 of 2 slots taken" in str(busy.value)
    assert runs.get(store, third).status == "queued"  # refused whole: nothing written
    other = pool_job(store, "elsewhere", "q")
    assert take(store, queued(store, other.id), pool="q")  # another pool is not affected
    set_run(store, first, status=RunStatus.OK.value)
    assert take(store, third)
    assert not take(store, third)  # a duplicate message: already running


def test_a_free_slot_goes_to_the_oldest_waiter_first(store):
    job = pool_job(store, "j", overlap_policy="allow")
    waiter = queued(store, job.id, created=0)
    set_run(store, waiter, status=RunStatus.PENDING.value, skip_reason="waiting: resource_pool 'p' busy")
    newcomer = queued(store, job.id, created=5)
    with pytest.raises(PoolBusy) as busy:
        take(store, newcomer)
    assert (busy.value.busy, busy.value.ahead) == (0, 1) and "1 older run waiting" in str(busy.value)
    set_run(store, waiter, status=RunStatus.QUEUED.value)  # the beat sends it again
    assert take(store, waiter)


@pytest.fixture
def runtime(settings, redis):
    from clawsched.sched.runtime import Runtime

    rt = Runtime(settings.with_(post_run="inline"))
    yield rt
    rt.close()


@pytest.mark.parametrize("trigger", [Trigger.CHAIN, Trigger.RETRY])
def test_a_chain_step_or_retry_finding_its_pool_busy_waits_then_runs(store, runtime, trigger):
    holder = pool_job(store, "holder")
    holding = queued(store, holder.id)
    assert take(store, holding)
    step = pool_job(store, "step", payload="echo stepped")  # overlap_policy skip, the default
    run_id = runs.enqueue(store, step.id, trigger=trigger, status=RunStatus.QUEUED)
    assert execution.execute_and_process(runtime, run_id) == RunStatus.PENDING
    waiting = runs.get(store, run_id)
    assert waiting.status == "pending" and waiting.not_before is not None
    assert waiting.skip_reason == f"waiting: resource_pool 'p' busy: 1 of 1 slot taken (run {holding})"
    set_run(store, holding, status=RunStatus.OK.value)
    set_run(store, run_id, status=RunStatus.QUEUED.value)  # what the beat does once not_before passes
    assert execution.execute_and_process(runtime, run_id) == RunStatus.OK
    done = runs.get(store, run_id)
    assert done.shell_stdout.strip() == "stepped" and done.skip_reason is None


def test_losing_every_redis_key_does_not_let_a_second_run_into_the_pool(store, runtime, redis):
    """D4: the pool used to be a Redis lease; after FLUSHALL a second run took it beside the first."""
    holder = pool_job(store, "holder")
    holding = queued(store, holder.id)
    assert take(store, holding)
    redis.flushall()
    other = pool_job(store, "other")
    run_id = queued(store, other.id)
    assert execution.execute_and_process(runtime, run_id) == RunStatus.PENDING
    assert runs.get(store, holding).status == "running" and runs.get(store, run_id).status == "pending"


def test_waiting_for_a_pool_is_bounded_like_overlap_queue(store, runtime):
    holder = pool_job(store, "holder")
    assert take(store, queued(store, holder.id))
    step = pool_job(store, "step", max_queued_dispatches=1, overlap_policy="allow")
    first, second = queued(store, step.id), queued(store, step.id)
    assert execution.execute_and_process(runtime, first) == RunStatus.PENDING
    assert execution.execute_and_process(runtime, second) == RunStatus.SKIPPED
    assert "queue limit reached (1 waiting)" in runs.get(store, second).skip_reason


def test_two_slots_across_two_worker_processes_run_two_at_once_while_six_wait_and_all_run(
        app, store, redis, beat, settings, tmp_path):
    gpu = {"name": "gpu", "slots": 2}
    made = [pool_job(store, f"train-{i}", gpu, "sleep 0.4", overlap_policy="allow") for i in range(2)]
    with workers(app, settings, tmp_path, "w1", "w2", concurrency=3):  # 6 processes could run 6 at once
        ids = [jobs.run_now(store, j.id) for _ in range(4) for j in made]
        notify(redis, settings, "test")
        done = wait_for(lambda: all(runs.get(store, i).status in ("ok", "skipped", "error") for i in ids)
                        and [runs.get(store, i) for i in ids], timeout=90, what="all 8 pool runs to end")
    assert [r.status for r in done] == ["ok"] * 8, [(r.status, r.skip_reason) for r in done]
    edges = sorted([(r.started_at, 1) for r in done] + [(r.finished_at, -1) for r in done],
                   key=lambda e: (e[0], e[1]))
    running, most = 0, 0
    for _, step in edges:
        running += step
        most = max(most, running)
    assert most == 2, f"{most} pool runs at once with 2 slots"
    assert len({r.worker_id for r in done}) == 2, "both worker processes took pool runs"
    # at least the runs the four idle processes took while both slots were held waited (deferred, not skipped)
    assert sum(1 for r in done if r.not_before and r.not_before > r.created_at) >= 4, "runs waited"


def key_job(store: Any, name: str, key: str, agent: str = "a", **fields: Any) -> Any:
    return pool_job(store, name, None, concurrency_key=key, agent_id=agent, overlap_policy="allow", **fields)


def test_a_concurrency_key_per_agent_limits_that_agents_jobs_only(store):
    first, second = key_job(store, "a1", "agent"), key_job(store, "a2", "agent")
    other_agent, no_key = key_job(store, "b1", "agent", agent="b"), pool_job(store, "free", None, agent_id="a")
    assert take(store, queued(store, first.id), pool=None)
    with pytest.raises(PoolBusy) as busy:
        take(store, queued(store, second.id), pool=None)
    assert str(busy.value).startswith("concurrency_key 'agent:a' busy: 1 of 1 slot taken")
    assert take(store, queued(store, other_agent.id), pool=None)
    assert take(store, queued(store, no_key.id), pool=None)


def test_a_shared_key_has_its_limit_and_a_per_job_key_limits_one_jobs_parallelism(store):
    deploys = [key_job(store, f"deploy-{i}", "prod-deploys", concurrency_limit=2) for i in range(3)]
    assert take(store, queued(store, deploys[0].id), pool=None) and take(store, queued(store, deploys[1].id), pool=None)
    with pytest.raises(PoolBusy, match="concurrency_key 'prod-deploys' busy: 2 of 2 slots"):
        take(store, queued(store, deploys[2].id), pool=None)
    solo = key_job(store, "solo", "job", concurrency_limit=2)
    runs_of_solo = [queued(store, solo.id, created=i) for i in range(3)]
    assert take(store, runs_of_solo[0], pool=None) and take(store, runs_of_solo[1], pool=None)
    with pytest.raises(PoolBusy, match=f"concurrency_key 'job:{solo.id}' busy"):
        take(store, runs_of_solo[2], pool=None)


def test_a_run_with_a_pool_and_a_key_needs_a_slot_of_both(store):
    both = pool_job(store, "both", {"name": "p", "slots": 5}, concurrency_key="k", overlap_policy="allow")
    assert limits_for(both) == (Limit(LimitKind.POOL, "p"), Limit(LimitKind.SHARED, "k"))
    assert take(store, queued(store, both.id))
    with pytest.raises(PoolBusy, match="concurrency_key 'k' busy"):  # the pool has room, the key does not
        take(store, queued(store, both.id))


def test_a_run_finding_its_key_busy_waits_and_the_finish_releases_it(store, runtime):
    holder, waiter = key_job(store, "holder", "agent"), key_job(store, "waiter", "agent")
    holding = queued(store, holder.id)
    assert take(store, holding, pool=None)
    run_id = queued(store, waiter.id)
    before = metrics.WORKER.get_sample_value("clawsched_run_waits_total", {"reason": "concurrency_key"}) or 0
    assert execution.execute_and_process(runtime, run_id) == RunStatus.PENDING
    assert runs.get(store, run_id).skip_reason.startswith("waiting: concurrency_key 'agent:a' busy")
    assert metrics.WORKER.get_sample_value("clawsched_run_waits_total", {"reason": "concurrency_key"}) == before + 1
