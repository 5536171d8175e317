"""Pause with a note (issue 17 item 3): a paused job does not fire, who and why show in `jobs list`,
`jobs get` and the API, and at --until it fires again by itself. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import audit, jobs, pauses
from clawsched.sched.audit import Actor, Source
from clawsched.sched.errors import Conflict, SpecError
from clawsched.sched.store import claims

NOW = datetime(2026, 12, 3, 12, 1, tzinfo=UTC)
ALICE = Actor("alice", Source.CLI)


def shell(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "schedule_cron": "*/5 * * * *", "session_target": "shell", "payload_message": "true",
            "run_timeout_ms": 5000, **fields}


def claimed(store: Any, at: datetime) -> list[str]:
    return [c.job_name for c in claims.claim_due_fires(store, at)]


def test_a_paused_job_does_not_fire_until_resumed_and_then_fires_from_now(store):
    job = jobs.create(store, shell("p"), now=NOW)
    paused = pauses.pause(store, job.id, reason="db migration", actor=ALICE, now=NOW)
    assert paused.next_run_at is None and paused.paused_by == "alice" and paused.paused_reason == "db migration"
    assert claimed(store, NOW + timedelta(hours=3)) == []
    resumed = pauses.resume(store, job.id, actor=ALICE, now=NOW + timedelta(hours=3))
    assert resumed.paused_at is None and resumed.next_run_at == datetime(2026, 12, 3, 12, 5, tzinfo=UTC)
    with pytest.raises(Conflict, match="not paused"):
        pauses.resume(store, job.id, actor=ALICE, now=NOW)


def test_resume_follows_the_misfire_policy_for_the_fires_the_pause_held_back(store):
    latest = jobs.create(store, shell("latest"), now=NOW)
    none = jobs.create(store, shell("none", catchup="none"), now=NOW)
    later = NOW + timedelta(hours=1)
    for job in (latest, none):
        pauses.pause(store, job.id, reason="held", actor=ALICE, now=NOW)
    assert pauses.resume(store, latest.id, actor=ALICE, now=later).next_run_at == datetime(2026, 12, 3, 12, 5,
                                                                                            tzinfo=UTC)
    assert pauses.resume(store, none.id, actor=ALICE, now=later).next_run_at == datetime(2026, 12, 3, 13, 5,
                                                                                          tzinfo=UTC)
    # catchup latest: the beat runs the most recent held-back fire once, as after an outage
    assert claimed(store, later) == ["latest"]


def test_a_pause_until_an_instant_resumes_by_itself_at_the_first_fire_after_it(store):
    job = jobs.create(store, shell("u"), now=NOW)
    until = datetime(2026, 12, 3, 13, 2, tzinfo=UTC)
    paused = pauses.pause(store, job.id, reason="quiet hour", until=until, actor=ALICE, now=NOW)
    assert paused.next_run_at == datetime(2026, 12, 3, 13, 5, tzinfo=UTC)  # 12:05 .. 13:00 do not fire
    assert claimed(store, datetime(2026, 12, 3, 13, 4, tzinfo=UTC)) == []
    # a reschedule inside the pause keeps it
    jobs.update(store, job.id, {"schedule_cron": "*/10 * * * *"}, now=NOW)
    assert jobs.get(store, job.id).next_run_at == datetime(2026, 12, 3, 13, 10, tzinfo=UTC)
    assert claimed(store, datetime(2026, 12, 3, 13, 10, tzinfo=UTC)) == ["u"]
    # the upkeep pass clears the note and records the resume by the scheduler
    assert pauses.expire(store, now=datetime(2026, 12, 3, 13, 10, tzinfo=UTC)) == [job.id]
    assert jobs.get(store, job.id).paused_at is None
    last = audit.as_dict(audit.history(store, job.id).rows[-1])
    assert (last["action"], last["actor"], last["source"]) == ("resume", "scheduler", "scheduler")
    assert pauses.expire(store, now=datetime(2026, 12, 3, 13, 11, tzinfo=UTC)) == []


def test_a_bad_reason_or_a_past_until_is_refused_naming_the_option(store):
    job = jobs.create(store, shell("bad"), now=NOW)
    with pytest.raises(SpecError, match="reason"):
        pauses.pause(store, job.id, reason="  ", actor=ALICE, now=NOW)
    with pytest.raises(SpecError, match="until"):
        pauses.pause(store, job.id, reason="x", until=NOW - timedelta(seconds=1), actor=ALICE, now=NOW)
    assert jobs.get(store, job.id).paused_at is None
    assert [e.action for e in audit.history(store, job.id).rows] == ["add"]


def test_the_cli_and_the_api_show_who_paused_and_why(settings, redis, store):
    def run(*args: str, expect: int = 0) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result

    job = jobs.create(store, shell("shown"))
    run("jobs", "pause", job.id, "--reason", "vendor outage", "--until", "2099-01-01T00:00:00Z")
    listed = run("jobs", "list").output
    assert "paused" in listed and "vendor outage" in listed
    got = json.loads(run("jobs", "get", "--json", job.id).output)
    assert got["paused_reason"] == "vendor outage" and got["paused_until"] == "2099-01-01T00:00:00Z"
    assert "until" in run("jobs", "pause", job.id, "--reason", "x", "--until", "soon", expect=2).output
    app = create_app(settings.with_(api_token="t"))
    with TestClient(app, headers={"Authorization": "Bearer t"}) as client:
        shown = client.get(f"/v1/jobs/{job.id}").json()["job"]
        resumed = client.post(f"/v1/jobs/{job.id}/resume")
        again = client.post(f"/v1/jobs/{job.id}/resume")
        paused = client.post(f"/v1/jobs/{job.id}/pause", json={"reason": "api pause"})
    assert shown["paused_by"] and shown["paused_reason"] == "vendor outage"
    assert resumed.status_code == 200 and resumed.json()["job"]["paused_at"] is None
    assert again.status_code == 409
    assert paused.status_code == 200 and paused.json()["job"]["paused_by"] == "CLAWSCHED_API_TOKEN"
