"""What migrating users paste: a verbatim job row of openclaw-scheduler, the cron tool's JSON in every shape
agents send it, and the peer's JavaScript ``regex:`` conditions (issue 16, "Every field of both dialects").

The row comes from a ``scheduler.db`` built in the peer's schema (``tests.support.peer_db``), read back with
``SELECT *``: 0/1 booleans, second-resolution UTC text instants, NULLs, the never-matching cron on a child.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import regex
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import jobs
from clawsched.sched.rules import chains
from clawsched.sched.rules.jsregex import Untranslatable, translate
from tests.support.peer_db import PeerDb

TOKEN = "shapes-token"


@pytest.fixture
def client(settings, redis):
    with TestClient(create_app(settings.with_(api_token=TOKEN)), raise_server_exceptions=False) as c:
        yield c


def cron_add(client: TestClient, args: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/tools/invoke", json={"tool": "cron", "args": args},
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["result"])


def peer_rows(tmp_path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A root agent job with the v0.2 fields and a child with a JavaScript regex, as ``SELECT *`` gives them."""
    peer = PeerDb(tmp_path / "scheduler.db")
    root = peer.job("Nightly digest", session_target="isolated", payload_kind="agentTurn",
                    payload_message="Summarise the day", delivery_mode="announce", delivery_channel="telegram",
                    delivery_to="@team_room", payload_scope="global", job_class="pre_compaction_flush",
                    identity_trust_level="supervised", identity_subject_kind="agent",
                    identity='{"principal": "ops"}', contract_max_cost_usd=2.5, child_credential_policy="inherit",
                    origin="telegram:1000000001", queued_count=0, last_status="ok",
                    last_run_at="2026-12-01 09:00:00", consecutive_errors=0)
    child = peer.job("Alert on CPU", parent_id=root, trigger_on="success", run_timeout_ms=60000,
                     trigger_condition=r"regex:(?<metric>CPU|MEM)=\d+ \k<metric>", trigger_delay_s=None)
    rows = peer.row("jobs", "id", root), peer.row("jobs", "id", child)
    peer.close()
    return rows


def test_a_verbatim_peer_job_row_is_accepted_and_every_field_is_kept(run_cli, store, tmp_path):
    root, child = peer_rows(tmp_path)
    run_cli("jobs", "add", json.dumps(root))
    run_cli("jobs", "add", json.dumps(child))
    shown = json.loads(run_cli("jobs", "get", root["id"], "--json").output)
    assert (shown["payload_scope"], shown["job_class"]) == ("global", "pre_compaction_flush")
    assert shown["governance"] == {"identity_trust_level": "supervised", "identity_subject_kind": "agent",
                                   "identity": '{"principal": "ops"}', "contract_max_cost_usd": 2.5,
                                   "child_credential_policy": "inherit"}
    assert shown["delivery_to"] == "@team_room" and shown["origin"] == "telegram:1000000001"
    kid = jobs.get(store, child["id"])
    assert kid.parent_id == root["id"] and kid.schedule_cron is None and kid.trigger_delay_s == 0
    condition = str(kid.trigger_condition)
    assert chains.evaluate_condition(condition, "CPU=93 CPU").holds
    assert not chains.evaluate_condition(condition, "CPU=93 MEM").holds
    # ``jobs get`` output fed back (governance nested, state columns) is a valid spec again
    run_cli("jobs", "validate", json.dumps({**shown, "id": "copy-of-digest"}))


def test_a_verbatim_peer_row_is_accepted_by_the_apis_cron_add(client, store, tmp_path):
    root, _ = peer_rows(tmp_path)
    result = cron_add(client, {"action": "add", "job": root})
    assert result["jobId"] == root["id"]
    assert jobs.get(store, root["id"]).governance["identity_trust_level"] == "supervised"


# seed 003's job, and the shapes the issue lists: the tool's wrapper, flat-params recovery, no name,
# contextMessages, and a job as ``openclaw cron list --json`` shows it (its status and state)
OC_JOB = {"schedule": {"kind": "cron", "expr": "0 7 * * *", "tz": "Europe/Vienna"}, "sessionTarget": "isolated",
          "payload": {"kind": "agentTurn", "message": "Summarize overnight updates."}, "delivery": {"mode": "none"}}
SHAPES = {
    "wrapper": {"action": "add", "job": {**OC_JOB, "name": "Brief"}},
    "wrapper with contextMessages": {"action": "add", "contextMessages": 3, "job": OC_JOB},
    "flat params": {"action": "add", "name": "Brief", **OC_JOB},
    "without a name": OC_JOB,
    "as cron list shows it": {**OC_JOB, "id": "listed-job", "name": "Brief", "enabled": True, "status": "idle",
                              "createdAtMs": 1767225600000, "updatedAtMs": 1767225600000,
                              "state": {"nextRunAtMs": 1767250800000, "lastStatus": "ok"}},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_cron_tool_shape_is_accepted_by_jobs_add(run_cli, store, shape):
    added = json.loads(run_cli("jobs", "add", "--json", json.dumps(SHAPES[shape])).output)["job"]
    job = jobs.get(store, added["id"])
    assert (job.schedule_cron, job.schedule_tz, job.payload_message) == (
        "0 7 * * *", "Europe/Vienna", "Summarize overnight updates.")
    assert job.name in ("Brief", "Summarize overnight updates.")


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_cron_tool_shape_is_accepted_by_cron_add(client, store, shape):
    args = SHAPES[shape] if "action" in SHAPES[shape] else {"action": "add", "job": SHAPES[shape]}
    job = jobs.get(store, cron_add(client, args)["jobId"])
    assert job.payload_message == "Summarize overnight updates." and job.schedule_cron == "0 7 * * *"


def test_jobs_add_refuses_another_action_naming_it(run_cli, store):
    out = run_cli("jobs", "add", json.dumps({"action": "remove", "jobId": "x"}), expect=2).output
    assert "action" in out and "jobs delete" in out
    assert jobs.count(store)["total"] == 0


# JavaScript pattern -> (text it matches, text it does not) with JavaScript's meaning
JS_CASES = {
    r"(?<year>\d{4})-\k<year>": ("2024-2024", "2024-2025"),
    r"[^]+x": ("a\nx", "x"),
    r"a{,3}": ("a{,3}", "aaa"),
    r"^ok$": ("ok", "ok\n"),
    r"line\cJend": ("line\nend", "lineJend"),
    r"\/tmp\/\d+": ("/tmp/42", "/tmp/\u0663"),
    r"a.b": ("a-b", "a\u2028b"),
    r"\bfoo\b": ("\u00e9foo", "xfoo"),  # JavaScript: \u00e9 is no word character
}


@pytest.mark.parametrize("pattern", list(JS_CASES))
def test_javascript_patterns_mean_in_the_condition_engine_what_they_mean_in_javascript(pattern):
    yes, no = JS_CASES[pattern]
    compiled = regex.compile(translate(pattern))
    assert compiled.search(yes) and not compiled.search(no)


@pytest.mark.parametrize(("pattern", "why"), [("(?i)abc", "not JavaScript"), ("(?<a$b>x)", "group name"),
                                              ("[abc", "not closed"), ("(?<x>a)\\k<y>", "no group")])
def test_what_has_no_equivalent_is_refused_with_the_reason(pattern, why):
    with pytest.raises(Untranslatable, match=regex.escape(why)):
        translate(pattern)


def test_a_job_with_a_javascript_condition_is_stored_translated_and_a_bad_one_refused(run_cli, store):
    parent = json.loads(run_cli("jobs", "add", "--json", json.dumps(
        {"name": "p", "schedule_cron": "0 * * * *", "session_target": "shell", "payload_message": "true",
         "run_timeout_ms": 1000})).output)["job"]["id"]
    child = {"name": "c", "parent_id": parent, "trigger_on": "success", "session_target": "shell",
             "payload_message": "true", "run_timeout_ms": 1000}
    added = json.loads(run_cli("jobs", "add", "--json", json.dumps(
        {**child, "trigger_condition": r"regex:(?<n>\d+) \k<n>"})).output)["job"]
    assert added["trigger_condition"] == r"regex:(?P<n>[0-9]+) (?P=n)"
    out = run_cli("jobs", "add", json.dumps({**child, "trigger_condition": "regex:(?<n>x"}), expect=2).output
    assert "trigger_condition" in out and "JavaScript" in out
    assert jobs.count(store)["total"] == 2
