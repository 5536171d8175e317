"""``/v1/jobs`` over HTTP: the same services and validation as ``clawsched jobs ...``, in the API's shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import jobs, runs

TOKEN = "jobs-test-token"


@pytest.fixture
def client(settings, redis) -> Iterator[TestClient]:
    app = create_app(settings.with_(api_token=TOKEN))
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def shell(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "schedule_cron": "0 0 1 1 *", "session_target": "shell", "payload_message": f"echo {name}",
            "run_timeout_ms": 5000, **fields}


CRON_TOOL = {"name": "Morning brief", "schedule": {"kind": "cron", "expr": "0 9 * * *", "tz": "America/New_York"},
             "sessionTarget": "isolated", "payload": {"kind": "agentTurn", "message": "Summarise my inbox"}}


def test_both_dialects_create_the_same_kind_of_record(client, store):
    flat = client.post("/v1/jobs", json=shell("disk"))
    tool = client.post("/v1/jobs", json=CRON_TOOL)
    assert flat.status_code == tool.status_code == 201
    assert flat.json()["ok"] is True and flat.json()["dryRun"] is False
    made = tool.json()["job"]
    assert made["schedule_cron"] == "0 9 * * *" and made["schedule_tz"] == "America/New_York"
    assert made["payload_message"] == "Summarise my inbox" and made["session_target"] == "isolated"
    assert jobs.get(store, made["id"]).name == "Morning brief"
    assert client.get(f"/v1/jobs/{made['id']}").json() == {"ok": True, "job": made}


def test_an_invalid_spec_is_422_naming_the_field_and_writes_nothing(client, store):
    bad = client.post("/v1/jobs", json=shell("no-timeout", run_timeout_ms=None))
    assert bad.status_code == 422
    assert bad.json()["ok"] is False and bad.json()["error"]["field"] == "run_timeout_ms"
    not_an_object = client.post("/v1/jobs", json=["a", "list"])
    assert not_an_object.status_code == 422 and not_an_object.json()["error"]["code"] == "invalid"
    assert jobs.list_jobs(store) == []


def test_dry_run_validates_and_saves_nothing(client, store):
    answer = client.post("/v1/jobs", params={"dry_run": "true"}, json=shell("maybe"))
    assert answer.status_code == 201 and answer.json()["dryRun"] is True
    assert answer.json()["job"]["name"] == "maybe"
    assert jobs.list_jobs(store) == []


def test_a_duplicate_id_is_a_409(client):
    assert client.post("/v1/jobs", json=shell("first", id="fixed-id")).status_code == 201
    again = client.post("/v1/jobs", json=shell("second", id="fixed-id"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "Conflict"


def test_list_filters_and_pages_with_a_total(client):
    ids = [client.post("/v1/jobs", json=shell(f"job-{i}", agent_id="ops" if i % 2 else "main")).json()["job"]["id"]
           for i in range(5)]
    client.post(f"/v1/jobs/{ids[0]}/disable")
    first = client.get("/v1/jobs", params={"limit": 2}).json()
    second = client.get("/v1/jobs", params={"limit": 2, "offset": 2}).json()
    assert first["total"] == second["total"] == 5 and (first["limit"], second["offset"]) == (2, 2)
    assert [j["id"] for j in first["jobs"] + second["jobs"]] == ids[:4]
    assert [j["id"] for j in client.get("/v1/jobs", params={"agent": "ops"}).json()["jobs"]] == [ids[1], ids[3]]
    assert [j["id"] for j in client.get("/v1/jobs", params={"enabled": "false"}).json()["jobs"]] == [ids[0]]
    assert client.get("/v1/jobs", params={"type": "watchdog"}).json()["total"] == 0
    assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422
    assert client.get("/v1/jobs", params={"type": "nope"}).json()["error"]["field"] == "query.type"


def test_patch_changes_fields_and_validates_the_merged_job(client):
    job_id = client.post("/v1/jobs", json=shell("patched")).json()["job"]["id"]
    changed = client.patch(f"/v1/jobs/{job_id}", json={"schedule_cron": "*/5 * * * *", "name": "renamed"})
    assert changed.status_code == 200 and changed.json()["job"]["name"] == "renamed"
    assert client.get(f"/v1/jobs/{job_id}").json()["job"]["schedule_cron"] == "*/5 * * * *"
    bad = client.patch(f"/v1/jobs/{job_id}", json={"schedule_cron": "every tuesday"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "schedule_cron"
    assert client.patch("/v1/jobs/nope", json={"name": "x"}).status_code == 404


def test_enable_disable_run_and_delete(client, store):
    job_id = client.post("/v1/jobs", json=shell("toggled")).json()["job"]["id"]
    off = client.post(f"/v1/jobs/{job_id}/disable").json()
    assert off["job"]["enabled"] is False
    assert client.post(f"/v1/jobs/{job_id}/enable").json()["job"]["enabled"] is True
    started = client.post(f"/v1/jobs/{job_id}/run")
    assert started.status_code == 202
    body = started.json()
    assert body["enqueued"] is True and body["beatWoken"] is True
    assert runs.get(store, body["runId"]).trigger == "manual"
    gone = client.delete(f"/v1/jobs/{job_id}")
    assert gone.json() == {"ok": True, "deleted": 1}
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/run"), ("POST", "/enable"), ("GET", "/tree")):
        missing = client.request(method, f"/v1/jobs/{job_id}{path}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound", (method, path)


def test_cancel_stops_open_runs_of_the_job_and_its_children(client, store):
    parent = client.post("/v1/jobs", json=shell("parent")).json()["job"]["id"]
    child = client.post("/v1/jobs", json={**shell("child"), "schedule_cron": None, "parent_id": parent,
                                          "trigger_on": "success"}).json()["job"]["id"]
    run_id = client.post(f"/v1/jobs/{parent}/run").json()["runId"]
    answer = client.post(f"/v1/jobs/{parent}/cancel").json()
    assert answer["cancelledJobs"] == [parent, child] and answer["cancelledRuns"] == [run_id]
    assert runs.get(store, run_id).status == "cancelled" and not jobs.get(store, child).enabled


def test_trees_show_chains(client):
    root = client.post("/v1/jobs", json=shell("root")).json()["job"]["id"]
    child = client.post("/v1/jobs", json={**shell("child"), "schedule_cron": None, "parent_id": root,
                                          "trigger_on": "failure"}).json()["job"]["id"]
    lone = client.post("/v1/jobs", json=shell("lone")).json()["job"]["id"]
    tree = client.get(f"/v1/jobs/{root}/tree").json()["trees"]
    assert [(n["id"], [c["id"] for c in n["children"]]) for n in tree] == [(root, [child])]
    assert tree[0]["children"][0]["trigger_on"] == "failure"
    assert [n["id"] for n in client.get("/v1/chains").json()["trees"]] == [root, lone]
