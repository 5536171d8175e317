"""Golden misfire tests: a ``*/5 * * * *`` job, a scheduler outage of an hour, each catch-up policy, with
``now=`` handed to the claim. Every slot of the outage ends up exactly once as a run or a ``missed``
record with its reason, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clawsched.sched import jobs
from clawsched.sched.rules import delivery
from clawsched.sched.states import MissedReason
from clawsched.sched.store import claims
from clawsched.sched.store.models import Job, Run

T0 = datetime(2026, 6, 1, 5, 59, 30, tzinfo=UTC)  # the job is created; its first fire is 06:00
BACK = datetime(2026, 6, 1, 7, 2, tzinfo=UTC)  # the beat comes back after an hour's outage (06:00:01 - 07:02)
OUTAGE = [datetime(2026, 6, 1, 6, 5, tzinfo=UTC) + timedelta(minutes=5 * i) for i in range(12)]  # 06:05 .. 07:00


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 6, 1, hh, mm, ss, tzinfo=UTC)


def make_job(store: Any, **fields: Any) -> Job:
    spec = {"name": "five", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 60_000,
            "schedule_cron": "*/5 * * * *", **fields}
    job = jobs.create(store, spec, now=T0)
    assert [c.run_id for c in claims.claim_due_fires(store, at(6, 0))]  # the 06:00 fire, on time
    return job


def outage_rows(store: Any, job: Job) -> list[tuple[datetime, str, str | None, datetime | None]]:
    """(slot, status, missed reason, not_before) of every run of the job after 06:00, in slot order."""
    with store.read() as s:
        runs = s.scalars(select(Run).where(Run.job_id == job.id, Run.scheduled_for > at(6, 0))
                         .order_by(Run.scheduled_for)).all()
        return [(r.scheduled_for, r.status, r.skip_reason.split(":")[0] if r.status == "missed" else None,
                 r.not_before) for r in runs]


def next_run(store: Any, job: Job) -> datetime | None:
    with store.read() as s:
        return s.get(Job, job.id).next_run_at


def test_latest_runs_the_newest_fire_and_records_the_rest_coalesced(store):
    job = make_job(store)  # catchup latest is the default
    reasons: list[str] = []

    claimed = claims.claim_due_fires(store, BACK, missed=reasons.extend)

    rows = outage_rows(store, job)
    assert len(claimed) == 1
    assert [(slot, status, why) for slot, status, why, _ in rows] == [
        *[(slot, "missed", "coalesced") for slot in OUTAGE[:-1]], (at(7, 0), "queued", None)]
    assert reasons == ["coalesced"] * 11
    assert next_run(store, job) == at(7, 5)
    assert claims.claim_due_fires(store, BACK + timedelta(seconds=30)) == []  # nothing is claimed twice


def test_all_replays_every_fire_in_order_at_a_bounded_rate(store):
    job = make_job(store, catchup="all")

    claimed = claims.claim_due_fires(store, BACK, replay_interval=timedelta(seconds=1))

    rows = outage_rows(store, job)
    assert len(claimed) == 1  # one run is sent now; the other eleven wait their turn
    assert [(slot, status, why) for slot, status, why, _ in rows] == [
        (OUTAGE[0], "queued", None), *[(slot, "pending", None) for slot in OUTAGE[1:]]]
    assert [nb for *_, nb in rows] == [BACK + timedelta(seconds=i) for i in range(12)]
    assert next_run(store, job) == at(7, 5)
    released = [claims.claim_due_runs(store, BACK + timedelta(seconds=s, milliseconds=500)) for s in range(1, 13)]
    assert [len(batch) for batch in released] == [1] * 11 + [0]  # one a second, never a storm
    with store.read() as s:
        order = [s.get(Run, batch[0].run_id).scheduled_for for batch in released[:11]]
    assert order == OUTAGE[1:]


def test_none_runs_no_missed_fire_and_records_each_late(store):
    job = make_job(store, catchup="none")
    reasons: list[str] = []

    assert claims.claim_due_fires(store, BACK, missed=reasons.extend) == []

    rows = outage_rows(store, job)
    assert [(slot, status, why) for slot, status, why, _ in rows] == [(slot, "missed", "late") for slot in OUTAGE]
    assert reasons == ["late"] * 12
    assert next_run(store, job) == at(7, 5)
    claimed = claims.claim_due_fires(store, at(7, 5, 2))  # back on time: the next fire runs
    assert len(claimed) == 1 and outage_rows(store, job)[-1][:2] == (at(7, 5), "queued")


def test_a_catchup_window_records_older_fires_outside_it(store):
    job = make_job(store, catchup_window_s=1800)

    claims.claim_due_fires(store, BACK)

    rows = [(slot, status, why) for slot, status, why, _ in outage_rows(store, job)]
    cutoff = BACK - timedelta(seconds=1800)  # 06:32
    assert rows == [*[(s, "missed", "outside_window") for s in OUTAGE if s < cutoff],
                    *[(s, "missed", "coalesced") for s in OUTAGE[:-1] if s >= cutoff], (at(7, 0), "queued", None)]


def test_a_starting_deadline_keeps_only_fires_that_can_still_start_in_time(store):
    job = make_job(store, catchup="all", starting_deadline_s=600)

    claims.claim_due_fires(store, BACK)

    rows = [(slot, status, why) for slot, status, why, _ in outage_rows(store, job)]
    assert rows == [*[(s, "missed", "past_deadline") for s in OUTAGE[:-2]],
                    (at(6, 55), "queued", None), (at(7, 0), "pending", None)]


def test_a_claim_on_time_records_nothing_missed(store):
    job = make_job(store, catchup="none")
    assert len(claims.claim_due_fires(store, at(6, 5, 1))) == 1
    assert [status for _, status, _, _ in outage_rows(store, job)] == ["queued"]


@pytest.mark.parametrize("include", [True, False])
def test_missed_records_reach_the_failure_alert_only_when_it_includes_them(store, include):
    alert = {"after": 3, "to": "123", "channel": "telegram", "includeMissed": include}
    job = make_job(store, catchup="none", failure_alert=alert)

    claims.claim_due_fires(store, BACK)

    with store.read() as s:
        missed = s.scalars(select(Run).where(Run.job_id == job.id, Run.status == "missed")).all()
        stored = s.get(Job, job.id)
    assert len(missed) == 12
    # finalised at once unless the alert counts them: then the post-run pipeline (the reconciler) sees each
    assert all((r.finalized_at is None) == include for r in missed)
    assert delivery.alert_may_follow(stored, missed[0]) is include
    assert delivery.failure_streak(["missed"] * 12 + ["ok"], False, include) == (12 if include else 0)


def test_each_misfire_field_is_in_the_schema_the_docs_and_the_metrics():
    from pathlib import Path

    from clawsched.sched.metrics import BeatMetrics
    from clawsched.sched.specs.schema import job_json_schema

    fields = ("catchup", "catchup_window_s", "starting_deadline_s", "schedule_to_start_s")
    whole = job_json_schema()
    schema = whole["properties"]
    assert all(f in schema and schema[f].get("description") for f in fields)
    assert schema["catchup"]["default"] == "latest" and whole["$defs"]["Catchup"]["enum"] == ["latest", "all", "none"]
    docs = (Path(__file__).resolve().parents[1] / "docs" / "scheduling.md").read_text()
    assert all(f"`{f}`" in docs for f in (*fields, "includeMissed", "jobs next", "clawsched_beat_fires_missed_total"))
    assert all(f"`{reason.value}`" in docs for reason in MissedReason)
    from prometheus_client import CollectorRegistry

    counter = BeatMetrics(CollectorRegistry()).fires_missed
    assert counter._labelnames == ("reason",)
