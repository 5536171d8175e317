"""The beat's claim batch, on SQLite and PostgreSQL: one queued run per due fire, each job moved to its next
slot, and a fire someone else already claimed is skipped rather than claimed twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from clawsched.sched import jobs
from clawsched.sched.store import claims
from clawsched.sched.store.models import RUNS, Job, Run, new_id, utcnow


def spec(**fields: Any) -> dict[str, Any]:
    base = {"name": "c", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 7000,
            "schedule_kind": "every", "schedule_every_ms": 60_000}
    return {**base, **fields}


def test_a_batch_claims_every_kind_of_due_fire_once(store):
    now = utcnow()
    every = jobs.create(store, spec(), now=now)
    cron = jobs.create(store, spec(schedule_kind="cron", schedule_cron="*/5 * * * *", schedule_every_ms=None), now=now)
    once = jobs.create(store, spec(schedule_kind="at", schedule_at=(now + timedelta(seconds=30)).isoformat(),
                                   schedule_every_ms=None), now=now)
    due = {j.id: j.next_run_at for j in (every, cron, once)}
    later = now + timedelta(hours=1)  # all three are due by then

    claimed = claims.claim_due_fires(store, later)
    run_ids = [c.run_id for c in claimed]

    assert len(run_ids) == 3
    with store.read() as s:
        made = {r.job_id: r for r in s.scalars(select(Run).where(Run.id.in_(run_ids)))}
        moved = {j.id: j.next_run_at for j in s.scalars(select(Job))}
    # catchup latest (the default): the newest due slot runs, the older ones of the hour are recorded missed
    assert made[once.id].scheduled_for == due[once.id]
    assert made[every.id].scheduled_for == later - timedelta(seconds=(later - due[every.id]).total_seconds() % 60)
    assert made[cron.id].scheduled_for.minute % 5 == 0 and later - made[cron.id].scheduled_for < timedelta(minutes=5)
    assert {c.job_name for c in claimed} == {j.name for j in (every, cron, once)}
    for r in made.values():
        assert (r.status, r.trigger, r.run_timeout_ms) == ("queued", "schedule", 7000)
        assert r.created_at == r.not_before == r.dispatched_at == later
        assert (r.retry_count, r.chain_depth, r.shell_timed_out) == (0, 0, False)
    assert moved[once.id] is None  # a one-shot job fires no more
    assert moved[every.id] > later and moved[cron.id] > later and moved[cron.id].minute % 5 == 0
    assert claims.claim_due_fires(store, later) == []


def test_a_fire_already_claimed_elsewhere_is_skipped_and_the_rest_are_kept(store):
    now = utcnow()
    created = [jobs.create(store, spec(name=f"c{i}"), now=now) for i in range(4)]
    taken = created[1]
    with store.session() as s:  # another beat got this fire first
        s.execute(insert(RUNS).values(id=new_id(), job_id=taken.id, status="queued", trigger="schedule",
                                      created_at=now, scheduled_for=taken.next_run_at))

    # claimed when exactly that slot is due (a later claim would run the newer slot: catchup latest)
    run_ids = [c.run_id for c in claims.claim_due_fires(store, taken.next_run_at + timedelta(seconds=1))]

    assert len(run_ids) == 3
    with store.read() as s:
        rows = s.execute(select(Run.job_id, Run.scheduled_for)).all()
    assert len(rows) == len(set(rows)) == 4
    assert sorted(job_id for job_id, _ in rows) == sorted(j.id for j in created)
