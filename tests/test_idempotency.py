"""The idempotency key of a unit of work: one derivation (``rules.idempotency.key_for``), given to an
at-least-once run before it starts (``store.starting.ensure_idempotency_key``), carried by every crash replay
of it (``workers.post_run.replays``), and told to the agent in its prompt, so that work already done can be
answered with ``IDEMPOTENT_SKIP`` instead of being done twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any

import pytest
from sqlalchemy import select, update

from clawsched.sched import jobs, runs
from clawsched.sched.rules import attempts, idempotency
from clawsched.sched.states import RunStatus
from clawsched.sched.store import claims, finishing, starting
from clawsched.sched.store.models import RUNS, Run
from clawsched.workers.executors.agent import assemble_prompt
from clawsched.workers.post_run import pipeline

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
W = starting.Worker("host-a", 4242, "w-1")
AGENT = {"name": "Agent job", "session_target": "isolated", "agent_id": "main", "payload_message": "Summarize status",
         "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *", "run_timeout_ms": 20_000}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def row(**fields: Any) -> Any:
    base = {"id": "r1", "scheduled_for": None, "triggered_by_run": None, "retry_of": None}
    return NS(**{**base, **fields})


def test_a_scheduled_fire_is_keyed_by_its_job_and_instant_whatever_run_carries_it():
    fire = idempotency.key_for("j", row(scheduled_for=T0))
    assert fire == idempotency.key_for("j", row(id="r2", scheduled_for=T0))  # the same fire claimed again
    assert fire != idempotency.key_for("j", row(scheduled_for=at(60)))  # the next fire
    assert fire != idempotency.key_for("k", row(scheduled_for=T0))  # another job's fire
    assert len(fire) == 32 and int(fire, 16) >= 0


def test_chain_retry_and_manual_runs_are_keyed_apart_from_the_fire_and_from_each_other():
    fire = idempotency.key_for("j", row(scheduled_for=T0))
    chain = idempotency.key_for("j", row(triggered_by_run="p"))
    retry = idempotency.key_for("j", row(retry_of="p"))
    manual = idempotency.key_for("j", row())
    assert len({fire, chain, retry, manual}) == 4
    assert chain == idempotency.key_for("j", row(id="r2", triggered_by_run="p"))  # a replayed chain callback
    assert chain != idempotency.key_for("j", row(triggered_by_run="q"))  # another parent run
    assert chain != idempotency.key_for("other-child", row(triggered_by_run="p"))  # a sibling child
    assert retry != idempotency.key_for("j", row(retry_of="r2"))  # each attempt has its own key
    assert manual != idempotency.key_for("j", row(id="r2"))  # each manual run is its own unit of work
    assert idempotency.key_for("j", row(scheduled_for=T0, triggered_by_run="p")) == fire  # the instant comes first


def test_ensure_idempotency_key_gives_an_at_least_once_run_its_key_and_keeps_one_it_has(store):
    most = jobs.create(store, {**AGENT, "name": "most"})
    most_run = runs.get(store, runs.enqueue(store, most.id, status=RunStatus.QUEUED, now=T0))
    assert starting.ensure_idempotency_key(store, most, most_run) is None
    assert runs.get(store, most_run.id).idempotency_key is None  # at-most-once: nothing written
    once = jobs.create(store, {**AGENT, "delivery_guarantee": "at-least-once"})
    fresh = runs.get(store, runs.enqueue(store, once.id, status=RunStatus.QUEUED, now=T0))
    key = starting.ensure_idempotency_key(store, once, fresh)
    assert key == fresh.idempotency_key == idempotency.key_for(once.id, fresh)
    assert runs.get(store, fresh.id).idempotency_key == key
    given = runs.get(store, runs.enqueue(store, once.id, status=RunStatus.QUEUED, now=T0, idempotency_key="given"))
    assert starting.ensure_idempotency_key(store, once, given) == "given"
    assert runs.get(store, given.id).idempotency_key == "given"
    raced = runs.get(store, runs.enqueue(store, once.id, status=RunStatus.QUEUED, now=T0))
    with store.session() as s:  # another copy of the message gave it a key after this worker read the row
        s.execute(update(RUNS).where(RUNS.c.id == raced.id).values(idempotency_key="first-writer"))
    assert starting.ensure_idempotency_key(store, once, raced) == "first-writer" == raced.idempotency_key
    assert runs.get(store, raced.id).idempotency_key == "first-writer"


@pytest.fixture
def rt(settings: Any, redis: Any) -> Iterator[Any]:
    """A runtime like a worker's: the replay step wakes the beat through Redis."""
    from clawsched.sched.runtime import Runtime

    runtime = Runtime(settings.with_(post_run="inline"))
    yield runtime
    runtime.close()


def start_and_crash(store: Any, run_id: str, now: datetime) -> Run:
    """What a worker does before it starts the run, then its death: the run's heartbeat stops at ``now``."""
    loaded = starting.load(store, run_id, free=None, worker=W, now=now)
    assert loaded is not None
    starting.ensure_idempotency_key(store, loaded.job, loaded.run)
    assert starting.start(store, run_id, worker=W, now=now)
    crashed = finishing.crash(store, run_id, stale_before=now + timedelta(seconds=10), reason="worker lost",
                              now=now + timedelta(seconds=10))
    assert crashed is not None and crashed.status == "crashed"
    return crashed


def replay_of(store: Any, run_id: str) -> Run | None:
    with store.read() as s:
        return s.scalars(select(Run).where(Run.replay_of == run_id)).first()


def test_a_replayed_at_least_once_agent_run_carries_the_key_of_the_run_it_replays(store, rt):
    job = jobs.create(store, {**AGENT, "delivery_guarantee": "at-least-once"})
    original = start_and_crash(store, runs.enqueue(store, job.id, status=RunStatus.QUEUED, now=T0), T0)
    key = original.idempotency_key
    assert key is not None and key == idempotency.key_for(job.id, original)
    assert pipeline.process(rt, original.id, now=at(20)) is True
    replay = replay_of(store, original.id)
    assert replay is not None and (replay.trigger, replay.status, replay.job_id) == ("replay", "pending", job.id)
    assert replay.idempotency_key == key
    assert idempotency.key_for(job.id, replay) != key  # carried from the original, not derived from the replay
    prompt = assemble_prompt(store, jobs.get(store, job.id), replay)
    assert f"[IDEMPOTENCY KEY: {key}]" in prompt and "IDEMPOTENT_SKIP" in prompt
    assert starting.ensure_idempotency_key(store, job, replay) == key  # the worker keeps it before starting
    assert pipeline.process(rt, original.id, now=at(30)) is True  # a second pass replays nothing more
    assert [r.id for r in runs.for_job(store, job.id) if r.replay_of == original.id] == [replay.id]


def test_every_replay_in_a_row_carries_the_same_key_until_replays_run_out(store, rt):
    job = jobs.create(store, {**AGENT, "delivery_guarantee": "at-least-once"})
    current = start_and_crash(store, runs.enqueue(store, job.id, status=RunStatus.QUEUED, now=T0), T0)
    key, keys, now = current.idempotency_key, [], at(20)
    for _ in range(attempts.MAX_REPLAYS):
        assert pipeline.process(rt, current.id, now=now)
        replay = replay_of(store, current.id)
        assert replay is not None
        assert [c.run_id for c in claims.claim_due_runs(store, now)] == [replay.id]  # the beat sends it: queued
        current = start_and_crash(store, replay.id, now)
        keys.append(current.idempotency_key)
        now += timedelta(seconds=20)
    assert keys == [key] * attempts.MAX_REPLAYS
    assert pipeline.process(rt, current.id, now=now) and replay_of(store, current.id) is None  # replays ran out
    assert jobs.get(store, job.id).consecutive_errors == 1  # only the last crash was final


def test_an_at_most_once_run_is_neither_keyed_nor_replayed_and_its_prompt_has_no_key(store, rt):
    job = jobs.create(store, AGENT)
    crashed = start_and_crash(store, runs.enqueue(store, job.id, status=RunStatus.QUEUED, now=T0), T0)
    assert crashed.idempotency_key is None
    assert pipeline.process(rt, crashed.id, now=at(20)) is True
    assert replay_of(store, crashed.id) is None
    assert "IDEMPOTENCY KEY" not in assemble_prompt(store, job, runs.get(store, crashed.id))
    assert jobs.get(store, job.id).consecutive_errors == 1
