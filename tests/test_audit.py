"""The audit log (issue 17 item 4): every kind of change to a job is recorded with its actor, instant,
source and field diff, in the transaction of the change; `jobs history` and the API show it; retention
prunes it. On SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
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
from clawsched.sched.errors import SpecError
from clawsched.sched.store.models import JobAudit

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TOKEN = "audit-test-token"


def shell(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "schedule_cron": "*/5 * * * *", "session_target": "shell", "payload_message": "true",
            "run_timeout_ms": 5000, **fields}


def entries(store: Any, job_id: str) -> list[dict[str, Any]]:
    return [audit.as_dict(e) for e in audit.history(store, job_id).rows]


def test_each_kind_of_change_is_recorded_with_actor_source_and_diff(store):
    alice, importer = Actor("alice", Source.CLI), Actor("openclaw-jobs.json", Source.IMPORTER)
    job = jobs.create(store, shell("a", delivery_secret="s3cret", env={"TOKEN": "t0p"}), now=NOW, actor=importer)
    jobs.update(store, job.id, {"schedule_cron": "0 * * * *", "env": {"TOKEN": "n3w"}}, now=NOW, actor=alice)
    jobs.update(store, job.id, {"schedule_cron": "0 * * * *"}, now=NOW, actor=alice)  # no change: no entry
    jobs.set_enabled(store, job.id, False, now=NOW, actor=alice)
    jobs.set_enabled(store, job.id, True, now=NOW, actor=alice)
    pauses.pause(store, job.id, reason="maintenance", until=NOW + timedelta(hours=1), actor=alice, now=NOW)
    pauses.resume(store, job.id, actor=alice, now=NOW + timedelta(minutes=5))
    jobs.delete_job(store, job.id, actor=alice, now=NOW + timedelta(minutes=6))

    log = entries(store, job.id)  # the job is gone; its history is not
    assert [e["action"] for e in log] == ["add", "update", "disable", "enable", "pause", "resume", "delete"]
    assert log[0]["actor"] == "openclaw-jobs.json" and log[0]["source"] == "importer"
    assert {e["actor"] for e in log[1:]} == {"alice"} and {e["source"] for e in log[1:]} == {"cli"}
    assert log[0]["changes"]["schedule_cron"] == [None, "*/5 * * * *"]
    assert log[0]["changes"]["delivery_secret"] == [None, "***"]  # secrets never reach the log
    assert log[1]["changes"] == {"schedule_cron": ["*/5 * * * *", "0 * * * *"],
                                 "env": [{"TOKEN": "***"}, {"TOKEN": "***"}]}
    assert log[2]["changes"] == {"enabled": [True, False]}
    assert log[4]["note"] == "maintenance" and log[4]["changes"]["paused_reason"] == [None, "maintenance"]
    assert log[5]["changes"]["paused_by"] == ["alice", None]
    assert log[6]["changes"]["name"] == ["a", None]
    assert "s3cret" not in json.dumps(log) and "t0p" not in json.dumps(log) and "n3w" not in json.dumps(log)


def test_a_refused_change_writes_no_entry_and_a_dry_run_none(store):
    job = jobs.create(store, shell("b"), now=NOW)
    with pytest.raises(SpecError):
        jobs.update(store, job.id, {"schedule_cron": "not a cron"}, now=NOW)
    jobs.update(store, job.id, {"name": "c"}, now=NOW, dry_run=True)
    jobs.create(store, shell("d"), now=NOW, dry_run=True)
    assert [e["action"] for e in entries(store, job.id)] == ["add"]
    with store.read() as s:
        assert s.query(JobAudit).count() == 1


def test_cancel_and_chain_deletes_record_each_job(store):
    root = jobs.create(store, shell("root"), now=NOW)
    child = jobs.create(store, {**shell("child"), "schedule_cron": None, "parent_id": root.id,
                                "trigger_on": "success"}, now=NOW)
    jobs.cancel(store, root.id, reason="stop it", now=NOW, actor=Actor("bob", Source.API))
    assert [(e["action"], e["actor"], e["note"]) for e in entries(store, child.id)][-1] == (
        "disable", "bob", "cancelled: stop it")
    jobs.delete_job(store, root.id, now=NOW)
    assert entries(store, child.id)[-1]["action"] == "delete"
    assert root.id in (entries(store, child.id)[-1]["note"] or "")


def test_retention_prunes_old_entries(store):
    job = jobs.create(store, shell("old"), now=NOW - timedelta(days=100))
    jobs.update(store, job.id, {"name": "new"}, now=NOW)
    assert audit.prune(store, before=NOW - timedelta(days=90)) == 1
    assert [e["action"] for e in entries(store, job.id)] == ["update"]


def test_jobs_history_shows_the_changes_made_through_the_cli(settings, redis, store):
    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    job_id = json.loads(run("jobs", "add", "--json", json.dumps(shell("cli job")))
                        .output)["job"]["id"]
    run("jobs", "update", job_id, '{"schedule_cron": "0 3 * * *"}')
    run("jobs", "disable", job_id)
    history = json.loads(run("jobs", "history", "--json", job_id).output)["history"]
    assert [(e["action"], e["actor"], e["source"]) for e in history] == [
        ("add", getpass.getuser(), "cli"), ("update", getpass.getuser(), "cli"), ("disable", getpass.getuser(), "cli")]
    text = run("jobs", "history", job_id).output
    assert 'schedule_cron: "*/5 * * * *" -> "0 3 * * *"' in text and "disable" in text


def test_the_api_records_the_token_name_and_serves_the_history(settings, redis, store):
    app = create_app(settings.with_(api_token=TOKEN))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        job_id = client.post("/v1/jobs", json=shell("api job")).json()["job"]["id"]
        assert client.patch(f"/v1/jobs/{job_id}", json={"name": "renamed"}).status_code == 200
        body = client.get(f"/v1/jobs/{job_id}/history").json()
        tool = client.post("/v1/tools/invoke", json={"tool": "cron.remove", "args": {"jobId": job_id},
                                                     "sessionKey": "agent:main:main"})
        assert tool.status_code == 200, tool.text
        after = client.get(f"/v1/jobs/{job_id}/history").json()
    assert body["total"] == 2 and [e["action"] for e in body["history"]] == ["add", "update"]
    assert {(e["actor"], e["source"]) for e in body["history"]} == {("CLAWSCHED_API_TOKEN", "api")}
    assert body["history"][1]["changes"] == {"name": ["api job", "renamed"]}
    assert (after["history"][-1]["action"], after["history"][-1]["actor"], after["history"][-1]["source"]) == (
        "delete", "agent:main:main", "agent")


def test_apply_records_its_changes_as_apply(settings, redis, store, tmp_path):
    from tests.test_manifests import SEED, sid

    def apply(manifest: Any) -> None:
        path = tmp_path / "m.json"
        path.write_text(json.dumps(manifest))
        result = CliRunner().invoke(cli, ["apply", str(path)], obj=CliContext(settings), catch_exceptions=False)
        assert result.exit_code == 0, result.output

    apply(SEED)
    edited = json.loads(json.dumps(SEED))
    edited["workflows"][0]["tasks"][0]["schedule"] = {"cron": "0 3 * * *"}
    apply(edited)
    log = entries(store, sid("deploy-pipeline", "build"))
    assert [(e["action"], e["actor"], e["source"]) for e in log] == [("add", "apply", "apply"),
                                                                      ("update", "apply", "apply")]
    assert log[1]["changes"] == {"schedule_cron": ["0 2 * * *", "0 3 * * *"]}
