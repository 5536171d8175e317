"""``/v1/tools``: every tool listed with its schema, each request shape the seeds show, the cron tool's job
JSON with its nesting and flat-params recovery, errors naming the field, and the token on every call.

These go through the ASGI app in process (TestClient) against a real database and Redis; what needs a
worker and a beat (a run's outcome, a heartbeat that fires) is in ``test_api_tools_live.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import approvals, jobs, runs
from clawsched.sched.store.models import Run, utcnow

TOKEN = "tools-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Seed 003's example for the cron tool's add action (an isolated agent turn on a cron schedule).
SEED_JOB = {"name": "Morning brief", "schedule": {"kind": "cron", "expr": "0 7 * * *", "tz": "Europe/Vienna"},
            "sessionTarget": "isolated", "payload": {"kind": "agentTurn", "message": "Summarize overnight updates.",
                                                     "timeoutSeconds": 120},
            "delivery": {"mode": "none"}}

TOOL_NAMES = {"cron.status", "cron.list", "cron.get", "cron.add", "cron.update", "cron.remove", "cron.run", "cron.runs",
              "cron.wake", "heartbeat.list", "heartbeat.add", "heartbeat.update", "heartbeat.remove",
              "heartbeat.run", "proactive.runs", "approvals.list", "approvals.approve", "approvals.reject",
              "runs.get"}


@pytest.fixture
def client(settings: Any, redis: Any) -> Iterator[TestClient]:
    with TestClient(create_app(settings.with_(api_token=TOKEN)), raise_server_exceptions=False) as c:
        yield c


def invoke(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    answer = client.post("/v1/tools/invoke", json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    data: dict[str, Any] = answer.json()
    assert data["ok"] is (status == 200)
    return data


def failure(client: TestClient, body: dict[str, Any], status: int) -> dict[str, Any]:
    error: dict[str, Any] = invoke(client, body, status)["error"]
    return error


def test_every_tool_is_listed_with_the_json_schema_of_its_arguments(client):
    listed = client.get("/v1/tools", headers=AUTH).json()
    assert listed["ok"] is True
    tools = {t["name"]: t for t in listed["tools"]}
    assert set(tools) == TOOL_NAMES
    assert all(t["description"] and t["parameters"]["type"] == "object" for t in tools.values())
    add = tools["cron.add"]["parameters"]["properties"]["job"]
    assert {"schedule", "payload", "sessionTarget", "delivery"} <= set(add["properties"])
    assert tools["cron.runs"]["parameters"]["required"] == ["jobId"]
    assert "anyOf" not in json.dumps(tools["cron.wake"]["parameters"]), "optional arguments are plain types"


def test_without_or_with_a_wrong_token_every_tool_route_is_the_same_401(client):
    body = {"tool": "cron.list", "args": {}}
    answers = [client.get("/v1/tools"), client.get("/v1/tools", headers={"Authorization": "Bearer nope"}),
               client.post("/v1/tools/invoke", json=body),
               client.post("/v1/tools/invoke", json=body, headers={"Authorization": "Bearer nope"})]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1 and answers[0].json()["error"]["code"] == "Unauthorized"


def test_cron_add_takes_the_seed_job_in_every_shape_agents_send(client, store):
    shapes = [
        {"tool": "cron.add", "args": {"job": SEED_JOB}},
        {"tool": "cron", "args": {"action": "add", "job": SEED_JOB}},
        {"tool": "cron", "action": "add", "args": {"job": SEED_JOB}},
        {"tool": "cron.add", "args": {"action": "add", **SEED_JOB}},  # flat-params recovery
        {"name": "cron_add", "arguments": json.dumps({"action": "add", "job": SEED_JOB})},
    ]
    ids = [invoke(client, body)["result"]["jobId"] for body in shapes]
    assert len(set(ids)) == len(shapes)
    for job_id in ids:
        job = jobs.get(store, job_id)
        assert (job.name, job.schedule_cron, job.schedule_tz, job.session_target, job.payload_kind,
                job.payload_message, job.run_timeout_ms, job.delivery_mode) == (
            "Morning brief", "0 7 * * *", "Europe/Vienna", "isolated", "agentTurn",
            "Summarize overnight updates.", 120_000, "none")
    listed = invoke(client, {"tool": "cron.list", "args": {}})["result"]
    assert listed["total"] == len(shapes) and {j["id"] for j in listed["jobs"]} == set(ids)


def test_cron_add_recovers_fields_a_model_flattened_and_openclaw_spellings(client, store):
    flat = invoke(client, {"tool": "cron", "args": {"action": "add", "cron": "*/5 * * * *", "tz": "UTC",
                                                    "message": "Check the queue"}})["result"]
    job = jobs.get(store, flat["jobId"])
    assert (job.name, job.schedule_cron, job.payload_kind, job.session_target) == (
        "Check the queue", "*/5 * * * *", "agentTurn", "isolated")
    reminder = invoke(client, {"tool": "cron.add", "args": {"job": {
        "schedule": {"kind": "at", "at": "20m"}, "payload": {"kind": "systemEvent", "text": "Stretch"}}}})
    at = jobs.get(store, reminder["result"]["jobId"])
    assert at.session_target == "main" and 19 * 60 < (at.schedule_at - utcnow()).total_seconds() <= 20 * 60
    every = invoke(client, {"tool": "cron.add", "sessionKey": "project-alpha", "args": {"job": {
        "schedule": {"kind": "every", "everyMs": "30m"}, "sessionTarget": "current",
        "payload": {"kind": "agentTurn", "message": "Standup notes"}}}})
    bound = jobs.get(store, every["result"]["jobId"])
    assert (bound.schedule_every_ms, bound.session_target, bound.session_id) == (1_800_000, "session",
                                                                               "project-alpha")


def test_bad_arguments_name_the_field_as_the_caller_wrote_it(client):
    bad_cron = {"job": {**SEED_JOB, "schedule": {"kind": "cron", "expr": "not a cron"}}}
    assert failure(client, {"tool": "cron.add", "args": bad_cron}, 422)["field"] == "job.schedule.expr"
    main_turn = {**SEED_JOB, "sessionTarget": "main"}
    assert failure(client, {"tool": "cron.add", "args": main_turn}, 422)["field"] == "payload.kind"
    assert failure(client, {"tool": "cron.add", "args": {"action": "add"}}, 422)["field"] == "job"
    error = failure(client, {"tool": "cron.runs", "args": {"jobId": "x", "limt": 3}}, 422)
    assert error["field"] == "limt" and "jobId, limit, offset" in error["message"]
    assert failure(client, {"tool": "cron.runs", "args": {"jobId": "x", "limit": 0}}, 422)["field"] == "limit"
    assert failure(client, {"tool": "cron.run", "args": {}}, 422)["field"] == "jobId"
    assert failure(client, {"tool": "cron", "args": {}}, 422)["field"] == "action"
    assert failure(client, {"args": {}}, 422)["field"] == "tool"
    assert failure(client, {"name": "cron.list", "arguments": "{not json"}, 422)["field"] == "arguments"
    assert failure(client, {"tool": "heartbeat.add", "args": {"every": "soon"}}, 422)["field"] == "every"
    assert failure(client, {"tool": "approvals.approve", "args": {}}, 422)["field"] == "jobId"
    assert failure(client, {"tool": "proactive.runs", "args": {"status": "done"}}, 422)["field"] == "status"


def test_numbers_out_of_any_range_are_the_callers_422_not_a_server_error(client, store):
    job_id = invoke(client, {"tool": "cron.add", "args": {"job": SEED_JOB}})["result"]["jobId"]
    huge = 10**30
    absurd = [{"job": {**SEED_JOB, "schedule": {"kind": "every", "everyMs": huge}}},
              {"job": {**SEED_JOB, "max_retries": huge}},
              {"job": {**SEED_JOB, "schedule": {"kind": "at", "at": huge}}},
              {"job": {**SEED_JOB, "schedule": {"kind": "at", "at": "999999999w"}}}]
    for args in absurd:
        assert failure(client, {"tool": "cron.add", "args": args}, 422)["field"].startswith("job")
    assert failure(client, {"tool": "heartbeat.add", "args": {"every": huge}}, 422)["field"] == "every"
    assert failure(client, {"tool": "cron.runs", "args": {"jobId": job_id, "offset": huge}}, 422)["field"] == "offset"
    assert jobs.count(store)["total"] == 1


def test_unknown_tools_jobs_and_runs_are_404_with_their_own_codes(client):
    assert failure(client, {"tool": "cron.explode", "args": {}}, 404)["code"] == "UnknownTool"
    for tool in ("cron.get", "cron.run", "cron.runs", "cron.remove", "heartbeat.run"):
        error = failure(client, {"tool": tool, "args": {"jobId": "no-such-job"}}, 404)
        assert error["code"] == "NotFound" and "no-such-job" in error["message"]
    error = failure(client, {"tool": "cron.update", "args": {"id": "no-such-job", "patch": {"enabled": False}}}, 404)
    assert error["code"] == "NotFound"
    assert failure(client, {"tool": "runs.get", "args": {"runId": "no-such-run"}}, 404)["code"] == "NotFound"
    assert failure(client, {"tool": "approvals.reject", "args": {"jobId": "no-such-job"}}, 404)["code"] == "NotFound"


def test_update_remove_and_dry_run_go_through_the_job_services(client, store):
    dry = invoke(client, {"tool": "cron.add", "dryRun": True, "args": {"job": SEED_JOB}})["result"]
    assert dry["dryRun"] is True and jobs.count(store)["total"] == 0
    inside = invoke(client, {"tool": "cron", "args": {"action": "add", "dryRun": True, "job": SEED_JOB}})
    assert inside["result"]["dryRun"] is True and jobs.count(store)["total"] == 0
    job_id = invoke(client, {"tool": "cron.add", "args": {"job": SEED_JOB}})["result"]["jobId"]
    invoke(client, {"tool": "cron.update", "args": {"jobId": job_id, "patch": {"enabled": False}}})
    assert jobs.get(store, job_id).enabled is False
    assert invoke(client, {"tool": "cron.get", "args": {"id": job_id}})["result"]["job"]["enabled"] is False
    assert invoke(client, {"tool": "cron.list", "args": {}})["result"]["total"] == 0
    assert invoke(client, {"tool": "cron.list", "args": {"includeDisabled": True}})["result"]["total"] == 1
    moved = invoke(client, {"tool": "cron", "args": {"action": "update", "id": job_id,
                                                     "schedule": {"kind": "every", "everyMs": 60_000}}})
    assert moved["result"]["job"]["schedule_kind"] == "every" and jobs.get(store, job_id).schedule_cron is None
    bad = failure(client, {"tool": "cron.update", "args": {"jobId": job_id, "patch": {"schedule": {
        "kind": "every", "everyMs": 5}}}}, 422)
    assert bad["field"] == "patch.schedule.everyMs" and jobs.get(store, job_id).schedule_every_ms == 60_000
    assert failure(client, {"tool": "cron.update", "args": {"jobId": job_id}}, 422)["field"] == "patch"
    removed = invoke(client, {"tool": "cron.remove", "args": {"jobId": job_id}})["result"]
    assert removed == {"removed": True, "jobId": job_id, "deleted": 1}
    assert jobs.count(store)["total"] == 0


def test_run_answers_enqueued_with_the_run_id_and_runs_lists_it(client, store):
    job_id = invoke(client, {"tool": "cron.add", "args": {"job": SEED_JOB}})["result"]["jobId"]
    ran = invoke(client, {"tool": "cron.run", "args": {"jobId": job_id}})
    assert ran["enqueued"] is True and ran["runId"] == ran["result"]["runId"]
    assert runs.get(store, ran["runId"]).trigger == "manual"
    not_due = invoke(client, {"tool": "cron.run", "args": {"jobId": job_id, "runMode": "due"}})
    assert not_due["result"] == {"enqueued": False, "jobId": job_id, "due": False, "reason": "not-due"}
    [entry] = invoke(client, {"tool": "cron.runs", "args": {"jobId": job_id}})["result"]["runs"]
    # sent to the workers by the API itself (api.sending): queued, with no worker in this test to start it
    assert entry["runId"] == ran["runId"] and entry["outcome"]["status"] == "queued"
    assert entry["outcome"]["finished"] is False
    full = invoke(client, {"tool": "runs.get", "args": {"runId": ran["runId"]}})["result"]["run"]
    assert full["job_id"] == job_id and "shell_stdout" in full
    recent = invoke(client, {"tool": "proactive.runs", "args": {"status": ["queued"]}})["result"]
    assert [r["runId"] for r in recent["runs"]] == [ran["runId"]]
    status = invoke(client, {"tool": "cron.status", "args": {}})["result"]
    assert status["jobs"] == {"total": 1, "enabled": 1} and status["runs"] == {"queued": 1}
    assert status["nextWakeAt"] == jobs.as_dict(jobs.get(store, job_id))["next_run_at"]


def test_wake_queues_a_main_session_event_without_waiting_on_the_gateway(client, store):
    woken = invoke(client, {"tool": "cron", "action": "wake", "args": {"text": "Check the inbox", "mode": "now"}})
    run = runs.get(store, woken["runId"])
    job = jobs.get(store, run.job_id)
    assert run.status == "queued" and run.trigger == "manual"
    assert (job.session_target, job.payload_kind, job.payload_message, job.wake_mode, job.enabled) == (
        "main", "systemEvent", "Check the inbox", "now", False)
    assert invoke(client, {"tool": "cron.list", "args": {}})["result"]["jobs"] == []


def test_heartbeat_rules_are_main_session_every_jobs_listed_apart(client, store):
    invoke(client, {"tool": "cron.add", "args": {"job": SEED_JOB}})
    added = invoke(client, {"tool": "heartbeat.add", "args": {"every": "15m", "text": "Look around",
                                                              "agentId": "ops"}})["result"]
    job = jobs.get(store, added["jobId"])
    assert (job.session_target, job.payload_kind, job.schedule_kind, job.schedule_every_ms, job.agent_id,
            job.origin) == ("main", "systemEvent", "every", 900_000, "ops", "heartbeat")
    [rule] = invoke(client, {"tool": "heartbeat.list"})["result"]["heartbeats"]
    assert (rule["id"], rule["everyMs"], rule["text"], rule["enabled"]) == (job.id, 900_000, "Look around", True)
    invoke(client, {"tool": "heartbeat.update", "args": {"jobId": job.id, "every": 120_000, "enabled": False}})
    changed = jobs.get(store, job.id)
    assert (changed.schedule_every_ms, changed.enabled, changed.payload_message) == (120_000, False, "Look around")
    other = jobs.list_jobs(store)[0].id
    assert failure(client, {"tool": "heartbeat.remove", "args": {"jobId": other}}, 404)["code"] == "NotFound"
    beat = invoke(client, {"tool": "heartbeat.run", "args": {"jobId": job.id}})
    assert beat["enqueued"] is True and runs.get(store, beat["runId"]).job_id == job.id
    invoke(client, {"tool": "heartbeat.remove", "args": {"id": job.id}})
    assert invoke(client, {"tool": "heartbeat.list"})["result"]["heartbeats"] == []


def _awaiting_approval(store: Any) -> tuple[Any, str]:
    job = jobs.create(store, {"name": "deploy", "session_target": "shell", "payload_message": "echo deploy",
                              "run_timeout_ms": 10_000, "schedule_cron": "0 0 1 1 *"})
    run_id = runs.enqueue(store, job.id)
    with store.session() as s:
        s.get(Run, run_id).status = "awaiting_approval"
        approvals.request(s, job, run_id, utcnow())
    return job, run_id


def test_approvals_are_listed_and_decided_through_the_approval_service(client, store):
    job, run_id = _awaiting_approval(store)
    [pending] = invoke(client, {"tool": "approvals.list", "args": {}})["result"]["approvals"]
    assert (pending["job_id"], pending["run_id"], pending["status"]) == (job.id, run_id, "pending")
    decided = invoke(client, {"tool": "approvals.approve", "args": {"jobId": job.id, "by": "alice",
                                                                   "reason": "ship it"}})["result"]
    assert decided["approval"]["status"] == "approved" and decided["runId"] == run_id
    assert runs.get(store, run_id).status == "pending"
    again = failure(client, {"tool": "approvals.reject", "args": {"approvalId": pending["id"]}}, 409)
    assert again["code"] == "Conflict"
    assert invoke(client, {"tool": "approvals.list", "args": {"status": "all"}})["result"]["total"] == 1
