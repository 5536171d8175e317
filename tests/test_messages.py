"""The message queue: priority order, TTL, broadcast, threads, receipts, spawn; and the CLI over it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from clawsched.sched import jobs, messages, runs
from clawsched.sched.errors import SpecError
from clawsched.sched.store.models import utcnow


def test_inbox_is_urgent_first_then_oldest_first(store):
    t0 = utcnow()
    a = messages.send(store, "x", "main", "normal old", now=t0)
    b = messages.send(store, "x", "main", "urgent", priority=2, now=t0 + timedelta(seconds=1))
    c = messages.send(store, "x", "main", "high", priority=1, now=t0 + timedelta(seconds=2))
    d = messages.send(store, "x", "main", "normal new", now=t0 + timedelta(seconds=3))
    assert [m.id for m in messages.inbox(store, "main")] == [b.id, c.id, a.id, d.id]
    taken = messages.take_for_prompt(store, "main", limit=2)
    assert [m.id for m in taken] == [b.id, c.id]
    assert [m.id for m in messages.take_for_prompt(store, "main", limit=5)] == [a.id, d.id]
    assert messages.take_for_prompt(store, "main") == []


def test_ttl_expires_unread_messages(store):
    now = utcnow()
    short = messages.send(store, "x", "main", "soon gone", ttl_s=60, now=now)
    keep = messages.send(store, "x", "main", "stays", now=now)
    assert messages.expire(store, now + timedelta(seconds=30)) == 0
    assert messages.expire(store, now + timedelta(seconds=61)) == 1
    assert messages.get(store, short.id).status == "expired"
    assert [m.id for m in messages.inbox(store, "main")] == [keep.id]
    assert [r.event for r in messages.receipts(store, short.id)] == ["expired"]


def test_broadcast_reaches_every_agent_separately(store):
    m = messages.send(store, "ops", "broadcast", "freeze deploys", kind="constraint", owner="ops")
    assert [x.id for x in messages.take_for_prompt(store, "alpha")] == [m.id]
    assert messages.take_for_prompt(store, "alpha") == []
    assert [x.id for x in messages.take_for_prompt(store, "beta")] == [m.id]
    assert [x.id for x in messages.inbox(store, "beta")] == [m.id]
    messages.read(store, m.id, "beta")
    assert messages.inbox(store, "beta") == [] and [x.id for x in messages.inbox(store, "alpha")] == [m.id]
    assert messages.inbox(store, "ops") == []  # the sender does not receive its own broadcast


def test_threads_and_receipts_walk_pending_delivered_read(store):
    root = messages.send(store, "a", "b", "question?")
    reply = messages.send(store, "b", "a", "answer", reply_to=root.id)
    follow = messages.send(store, "a", "b", "thanks", reply_to=reply.id)
    assert [m.id for m in messages.thread(store, follow.id)] == [root.id, reply.id, follow.id]
    messages.take_for_prompt(store, "b", limit=1)
    assert messages.get(store, root.id).status == "delivered"
    messages.ack(store, root.id, "b", "seen it")
    got = messages.get(store, root.id)
    assert got.status == "read" and got.delivered_at <= got.read_at
    events = [(r.event, r.actor, r.note) for r in messages.receipts(store, root.id)]
    assert events == [("delivered", "dispatcher", None), ("read", "b", "seen it"), ("acked", "b", "seen it")]
    assert messages.readall(store, "b") == 1 and messages.unread(store, "b") == []
    with pytest.raises(SpecError):
        messages.send(store, "a", "b", "x", priority=5)
    with pytest.raises(SpecError):
        messages.send(store, "a", "b", "x", kind="gossip")


def test_spawn_message_creates_and_runs_a_validated_job(store):
    spec = {"name": "Spawned check", "session_target": "shell", "payload_message": "echo hi",
            "run_timeout_ms": 5000, "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *"}
    good = messages.send(store, "planner", "scheduler", json.dumps(spec), kind="spawn", metadata={"run": True})
    bad = messages.send(store, "planner", "scheduler", json.dumps({"name": "no payload"}), kind="spawn")
    [ok, refused] = messages.process_spawns(store)
    assert messages.process_spawns(store) == []
    job = jobs.get(store, ok["job_id"])
    assert job.name == "Spawned check" and job.origin == "spawn:planner"
    assert [r.id for r in runs.for_job(store, job.id)] == [ok["run_id"]]
    assert messages.get(store, good.id).status == "read"
    assert messages.get(store, bad.id).status == "failed" and "error" in refused
    answers = [m.body for m in messages.inbox(store, "planner")]
    assert any(a.startswith("created job") for a in answers) and any(a.startswith("spawn refused") for a in answers)


def test_msg_cli_round_trip(settings, store):
    import clawsched.cli.agent_cmd  # noqa: F401
    from clawsched.cli.context import CliContext
    from clawsched.cli.main import cli, main  # noqa: F401  (imports the command modules)

    runner = CliRunner()
    obj = CliContext(settings)
    sent = runner.invoke(cli, ["msg", "send", "mon", "main", "disk full", "--priority", "2", "--json"], obj=obj)
    assert sent.exit_code == 0, sent.output
    mid = json.loads(sent.output)["id"]
    inbox = runner.invoke(cli, ["msg", "inbox", "main", "--json"], obj=obj)
    assert [m["id"] for m in json.loads(inbox.output)] == [mid]
    assert runner.invoke(cli, ["msg", "ack", mid, "main", "ok"], obj=obj).exit_code == 0
    receipts = json.loads(runner.invoke(cli, ["msg", "receipts", mid, "--json"], obj=obj).output)
    assert [r["event"] for r in receipts] == ["read", "acked"]
    bad = runner.invoke(cli, ["msg", "send", "a", "b", "x", "--kind", "gossip", "--json"], obj=obj)
    assert bad.exit_code == 2 and json.loads(bad.output)["ok"] is False
