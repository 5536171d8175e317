"""Sub-agent dispatch through the CLI, workers and upkeep; and the task tracker's dead-man's switch."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from click.testing import CliRunner

from clawsched.sched import dispatches
from clawsched.sched import task_trackers as trackers
from clawsched.sched.store.models import utcnow
from clawsched.workers.upkeep import agents, dispatch_watch
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.waiting import wait_for


def clawsched(settings: Any, *args: str, input: str | None = None) -> Any:
    from clawsched.cli import agent_cmd  # noqa: F401  (registers the command groups)
    from clawsched.cli.context import CliContext
    from clawsched.cli.main import cli

    result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), input=input)
    return result


def test_enqueue_starts_a_labelled_session_and_done_delivers_once(store, rt, agent_settings, gateway, agent_worker,
                                                                  agent_beat):
    gateway.delay_s = 1.0  # the sub-agent works for a while; it reports `done` before its turn returns
    out = clawsched(agent_settings, "enqueue", "--label", "fix-deploy", "--message", "Fix the deploy script",
                    "--thinking", "high", "--deliver-to", "telegram:111", "--timeout", "60", "--json")
    assert out.exit_code == 0, out.output
    key = json.loads(out.output)["session_key"]
    [req] = gateway.wait_for(lambda rs: any(r.path == "/v1/chat/completions" for r in rs), timeout=10)[-1:]
    assert req.headers["x-openclaw-session-key"] == key and key.startswith("clawsched-dispatch:fix-deploy:")
    assert "Fix the deploy script" in req.body["messages"][0]["content"]
    assert "Prefer reasoning depth: high." in req.body["messages"][0]["content"]
    status = json.loads(clawsched(agent_settings, "dispatch", "status", "--label", "fix-deploy", "--json").output)
    assert status["status"] == "running" and status["run_status"] in ("queued", "running")
    done = clawsched(agent_settings, "dispatch", "done", "--label", "fix-deploy", "--summary", "Deploy script fixed")
    assert done.exit_code == 0, done.output
    again = clawsched(agent_settings, "dispatch", "done", "--label", "fix-deploy", "--summary", "twice")
    assert "already ended" in again.output
    wait_for(lambda: gateway.sent_messages, timeout=10, what="the completion summary")
    wait_for(lambda: dispatches.get(store, "fix-deploy").result, timeout=10, what="the turn's reply")
    dispatch_watch.dispatch_watch(rt, now=utcnow())  # a later watcher pass sends nothing more
    [sent] = gateway.sent_messages
    assert sent["channel"] == "telegram" and sent["target"] == "111"
    assert sent["shown"] == "[done] fix-deploy\n\nDeploy script fixed"
    row = dispatches.get(store, "fix-deploy")
    assert row.status == "done" and row.summary == "Deploy script fixed" and row.result.startswith("STUB-REPLY")
    listed = json.loads(clawsched(agent_settings, "dispatch", "list", "--json").output)
    assert [d["label"] for d in listed] == ["fix-deploy"]


def test_silent_session_raises_one_watchdog_alert_and_disarms_on_completion(store, rt, gateway):
    row = dispatches.enqueue(store, label="quiet", message="long job", deliver_to="555", channel="telegram",
                             watchdog_after_s=60)
    later = utcnow() + timedelta(seconds=61)
    assert dispatch_watch.dispatch_watch(rt, now=utcnow()) == 0
    dispatch_watch.dispatch_watch(rt, now=later)
    dispatch_watch.dispatch_watch(rt, now=later + timedelta(seconds=120))
    [alert] = gateway.sent_messages
    assert alert["target"] == "555" and "quiet appears stuck" in alert["shown"]
    stuck = clawsched(rt.settings, "dispatch", "stuck", "--threshold-min", "0.5")
    assert stuck.exit_code == 0  # silence is measured against now; this one started moments ago
    dispatches.finish(store, "quiet", "finished after all")
    armed = dispatches.enqueue(store, label="other", message="x", deliver_to="556", channel="telegram",
                               watchdog_after_s=60, delivery_mode="none")
    dispatches.finish(store, "other", "done quickly")
    dispatch_watch.dispatch_watch(rt, now=later + timedelta(hours=2))
    assert [m["target"] for m in gateway.sent_messages] == ["555", "555"]  # the completion; no alert for 'other'
    assert row.run_id and armed.run_id


def test_enqueue_reads_the_prompt_from_env_file_and_stdin(store, agent_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPT_TEXT", "from `env` with $chars")
    prompt_file = tmp_path / "p.md"
    prompt_file.write_text("from a file")
    cases = [(["--message-env", "PROMPT_TEXT"], None, "from `env` with $chars"),
             (["--message-file", str(prompt_file)], None, "from a file"),
             (["--message-stdin"], "from stdin", "from stdin")]
    for i, (args, stdin, expected) in enumerate(cases):
        out = clawsched(agent_settings, "enqueue", "--label", f"l{i}", *args, "--no-monitor", "--json", input=stdin)
        assert out.exit_code == 0, out.output
        assert dispatches.get(store, f"l{i}").message == expected
    reuse = clawsched(agent_settings, "enqueue", "--label", "l0", "--message", "more", "--mode", "reuse")
    assert reuse.exit_code == 4  # still running: Conflict
    dispatches.finish(store, "l0", "ok")
    reuse = clawsched(agent_settings, "enqueue", "--label", "l0", "--message", "more", "--mode", "reuse", "--json")
    assert json.loads(reuse.output)["session_key"] == dispatches.get(store, "l0").session_key


def test_tracker_summary_is_delivered_when_two_complete_and_one_goes_silent(store, rt, gateway):
    out = clawsched(rt.settings, "tasks", "create", json.dumps({
        "name": "v2-release", "expectedAgents": ["schema", "frontend", "docs"], "timeoutS": 600,
        "deliveryChannel": "telegram", "deliveryTo": "777"}), "--json")
    assert out.exit_code == 0, out.output
    tid = json.loads(out.output)["id"]
    assert clawsched(rt.settings, "tasks", "heartbeat", tid, "schema", "completed", "tables documented").exit_code == 0
    trackers.heartbeat(store, tid, "frontend", "running")
    trackers.heartbeat(store, tid, "frontend", "completed", "a11y fixed")
    trackers.heartbeat(store, tid, "docs", "running")
    assert agents.tracker_upkeep(rt, None, utcnow() + timedelta(seconds=300)) == 0
    assert gateway.sent_messages == []
    assert agents.tracker_upkeep(rt, None, utcnow() + timedelta(seconds=601)) == 1
    agents.tracker_upkeep(rt, None, utcnow() + timedelta(seconds=700))
    [sent] = gateway.sent_messages
    assert sent["target"] == "777"
    assert sent["shown"] == ('[FAILED] Task group "v2-release" failed\n\n[ok] schema: tables documented\n'
                               "[ok] frontend: a11y fixed\n[DEAD] docs: timed out (dead-man switch)")
    status = json.loads(clawsched(rt.settings, "tasks", "status", tid, "--json").output)
    assert status["status"] == "failed"
    assert [a["status"] for a in status["agents"]] == ["completed", "completed", "dead"]
    history = json.loads(clawsched(rt.settings, "tasks", "history", "--json").output)
    assert [t["id"] for t in history] == [tid]


def test_agents_registry_and_alias_cli(store, rt):
    assert clawsched(rt.settings, "agents", "register", "ops", "Ops bot").exit_code == 0
    got = json.loads(clawsched(rt.settings, "agents", "get", "ops", "--json").output)
    assert got["name"] == "Ops bot" and got["status"] == "idle" and got["last_seen_at"]
    assert clawsched(rt.settings, "agents", "get", "nobody").exit_code == 3
    assert clawsched(rt.settings, "alias", "add", "team", "telegram", "--", "-1001").exit_code == 0
    listed = json.loads(clawsched(rt.settings, "alias", "list", "--json").output)
    assert [(a["name"], a["target"]) for a in listed] == [("team", "-1001")]
    assert clawsched(rt.settings, "alias", "remove", "@team").exit_code == 0
    assert clawsched(rt.settings, "alias", "remove", "team").exit_code == 3
