"""openclaw-scheduler's CLI groups that clawsched lacked (issue 16): queue, idem, schema messages|
approvals|dispatches|all, approvals pending, capabilities; each over the real services, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import messages
from clawsched.sched.store.models import IdempotencyEntry, Message, utcnow


@pytest.fixture
def run_cli(settings):
    def invoke(*args: str, expect: int = 0) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return json.loads(result.output) if "--json" in args else result.output

    return invoke


def test_queue_list_clear_and_prune(run_cli, store):
    first = run_cli("msg", "send", "ops", "main", "deploy done", "--json")["id"]
    run_cli("msg", "send", "ops", "main", "constraint: no deploys on Friday", "--kind", "constraint")
    run_cli("msg", "send", "ops", "other", "not for main")
    listed = run_cli("queue", "list", "main", "--json")
    assert listed["agent"] == "main" and listed["pending"] == 2 and listed["delivered"] == 0
    assert [m["kind"] for m in listed["messages"]] == ["constraint", "text"]  # the prompt's order
    assert run_cli("queue", "clear", "main", "--json") == {"ok": True, "agent": "main", "changes": 2}
    assert run_cli("queue", "list", "main", "--json")["messages"] == []
    assert run_cli("queue", "list", "other", "--json")["pending"] == 1
    assert run_cli("queue", "prune", "--json") == {"ok": True, "pruned": 0}  # read, but not old yet
    with store.session() as s:
        s.get(Message, first).created_at = utcnow() - timedelta(days=8)
    assert run_cli("queue", "prune", "--json") == {"ok": True, "pruned": 1}
    assert {m.id for m in messages.inbox(store, "main", include_read=True)}.isdisjoint({first})
    assert run_cli("queue", "list", "other", "--json")["pending"] == 1  # open messages are never pruned


def test_idem_status_check_release_prune(run_cli, store):
    from clawsched.sched import jobs

    job = jobs.create(store, {"name": "once", "schedule_cron": "0 1 * * *", "payload_message": "x",
                              "delivery_guarantee": "at-least-once", "delivery_mode": "none"}).id
    now = utcnow()
    with store.session() as s:
        s.add(IdempotencyEntry(key="k-live", job_id=job, run_id="r1", status="claimed", claimed_at=now,
                               expires_at=now + timedelta(days=1)))
        s.add(IdempotencyEntry(key="k-old", job_id=job, run_id="r0", status="claimed",
                               claimed_at=now - timedelta(days=9), expires_at=now - timedelta(days=2)))
    assert [e["key"] for e in run_cli("idem", "status", job, "--json")] == ["k-live", "k-old"]
    checked = run_cli("idem", "check", "k-live", "--json")
    assert checked["found"] is True and checked["status"] == "claimed" and checked["run_id"] == "r1"
    assert run_cli("idem", "check", "nope", "--json") == {"found": False, "key": "nope"}
    assert run_cli("idem", "release", "k-live", "--json") == {"ok": True, "key": "k-live", "released": True}
    assert run_cli("idem", "release", "k-live", "--json")["already_released"] is True
    assert "not in the ledger" in run_cli("idem", "release", "nope", expect=3)
    assert run_cli("idem", "prune", "--json") == {"ok": True, "pruned": 1}
    assert [e["key"] for e in run_cli("idem", "status", job, "--json")] == ["k-live"]


def test_schema_groups_and_capabilities(run_cli):
    assert "constraint" in run_cli("schema", "messages", "--json")["kinds"]
    assert run_cli("schema", "approvals", "--json")["statuses"] == ["pending", "approved", "rejected", "expired"]
    assert "label" in run_cli("schema", "dispatches", "--json")["fields"]
    everything = run_cli("schema", "all", "--json")
    assert set(everything) == {"jobs", "runs", "messages", "approvals", "dispatches"}
    assert "schedule_cron" in everything["jobs"]["properties"]
    caps = run_cli("capabilities", "--json")
    assert caps["scheduler"] == "clawsched" and caps["features"]["manifests"] is True
    assert caps["features"]["identity_v02"] is False and caps["schema_version"]


def test_approvals_pending_names_the_job(run_cli, store):
    from clawsched.sched import approvals, jobs
    from clawsched.sched.store.models import Job, Run, new_id

    parent = jobs.create(store, {"name": "p", "schedule_cron": "0 1 * * *", "payload_message": "x",
                                 "session_target": "shell", "run_timeout_ms": 1000})
    child = jobs.create(store, {"name": "gated child", "parent_id": parent.id, "trigger_on": "success",
                                "payload_message": "y", "session_target": "shell", "run_timeout_ms": 1000,
                                "approval_required": True})
    with store.session() as s:
        run = Run(id=new_id(), job_id=child.id, status="awaiting_approval", trigger="chain", created_at=utcnow())
        s.add(run)
        s.flush()
        approvals.request(s, s.get(Job, child.id), run.id, utcnow())
    pending = run_cli("approvals", "pending", "--json")
    assert [(a["job_id"], a["job_name"]) for a in pending] == [(child.id, "gated child")]
    assert "gated child" in run_cli("approvals", "pending")


@pytest.fixture
def run_cli_woken(settings, redis):
    """The same, for commands that wake the beat (``jobs add``): a real Redis."""
    def invoke(*args: str, expect: int = 0) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return json.loads(result.output) if "--json" in args else result.output

    return invoke


def test_jobs_add_at_in_and_watchdog(run_cli_woken):
    from datetime import datetime

    spec = json.dumps({"name": "later", "schedule_cron": "0 9 * * *", "payload_message": "remind me"})
    before = utcnow()
    job = run_cli_woken("jobs", "add", spec, "--in", "15m", "--json")["job"]
    at = datetime.fromisoformat(job["schedule_at"].replace("Z", "+00:00"))
    assert job["schedule_kind"] == "at" and job["schedule_cron"] is None
    assert timedelta(minutes=15) <= at - before <= timedelta(minutes=15, seconds=30)
    fixed = run_cli_woken("jobs", "add", spec, "--at", "2030-01-02T09:00:00Z", "--json")["job"]
    assert fixed["schedule_at"].startswith("2030-01-02T09:00:00") and fixed["next_run_at"] == fixed["schedule_at"]
    assert "--in" in run_cli_woken("jobs", "add", spec, "--in", "soon", expect=2)
    assert "not both" in run_cli_woken("jobs", "add", spec, "--in", "1h", "--at", "2030-01-01T00:00:00Z", expect=2)
    dog = run_cli_woken("jobs", "add", json.dumps({"name": "dog", "schedule_cron": "*/5 * * * *",
                                                   "watchdog_check_cmd": "test -f /tmp/alive",
                                                   "watchdog_alert_target": "telegram:111"}),
                        "--watchdog", "--json")["job"]
    assert (dog["job_type"], dog["session_target"], dog["payload_message"], dog["delivery_mode"],
            dog["watchdog_self_destruct"]) == ("watchdog", "shell", "test -f /tmp/alive", "none", True)


def test_tasks_register_session(run_cli):
    group = run_cli("tasks", "create", json.dumps({"name": "g", "expected_agents": ["writer", "reviewer"],
                                                   "timeout_s": 600}), "--json")
    answer = run_cli("tasks", "register-session", group["id"], "writer", "agent:main:subagent:w1", "--json")
    assert answer == {"label": "writer", "status": "running", "session_key": "agent:main:subagent:w1"}
    agents = {a["label"]: a for a in run_cli("tasks", "status", group["id"], "--json")["agents"]}
    assert agents["writer"]["last_heartbeat"] and agents["writer"]["session_key"] == "agent:main:subagent:w1"
    assert agents["reviewer"]["status"] == "pending" and agents["reviewer"]["last_heartbeat"] is None
    assert "does not expect" in run_cli("tasks", "register-session", group["id"], "nobody", "k", expect=3)


def test_top_level_list_status_running(run_cli, store):
    from clawsched.sched.store.models import Dispatch

    with store.session() as s:
        s.add(Dispatch(label="fix-deploy", session_key="agent:main:dispatch:fix-deploy", status="running"))
        s.add(Dispatch(label="old", session_key="agent:main:dispatch:old", status="done"))
    assert [d["label"] for d in run_cli("list", "--status", "running", "--json")] == ["fix-deploy"]
    assert sorted(d["label"] for d in run_cli("list", "--json")) == ["fix-deploy", "old"]
    assert run_cli("list", "--json") == run_cli("dispatch", "list", "--json")


def test_dispatch_heartbeat_moves_last_activity(run_cli, store):
    from clawsched.sched import dispatches
    from clawsched.sched.store.models import Dispatch

    old = utcnow() - timedelta(hours=2)
    with store.session() as s:
        s.add(Dispatch(label="fix", session_key="agent:main:dispatch:fix", status="running", last_activity_at=old))
    assert [d.label for d in dispatches.stuck(store, 3600)] == ["fix"]
    answer = run_cli("dispatch", "heartbeat", "--label", "fix", "--json")
    assert answer["label"] == "fix" and answer["last_activity_at"] > old.isoformat()
    assert dispatches.stuck(store, 3600) == []
    assert "not found" in run_cli("dispatch", "heartbeat", "--label", "nope", expect=3)
