"""``/v1/approvals`` over HTTP: list what waits, approve (the run becomes due now) and reject (it ends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import approvals, jobs, runs
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store.models import Job, utcnow

TOKEN = "approvals-test-token"


@pytest.fixture
def client(settings, redis) -> Iterator[TestClient]:
    app = create_app(settings.with_(api_token=TOKEN))
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def waiting(store: Any, name: str) -> tuple[str, str, str]:
    """A gated chain child whose run waits for a person: (job id, run id, approval id)."""
    parent = jobs.create(store, {"name": f"{name}-parent", "schedule_cron": "0 0 1 1 *", "session_target": "shell",
                                 "payload_message": "true", "run_timeout_ms": 5000})
    child = jobs.create(store, {"name": name, "session_target": "shell", "payload_message": "true",
                                "run_timeout_ms": 5000, "parent_id": parent.id, "trigger_on": "success",
                                "approval_required": True})
    run_id = runs.enqueue(store, child.id, trigger=Trigger.CHAIN, status=RunStatus.AWAITING_APPROVAL)
    with store.session() as s:
        approval = approvals.request(s, s.get(Job, child.id), run_id, utcnow())
        s.flush()
        return child.id, run_id, approval.id


def test_pending_approvals_are_listed_by_status_and_job(client, store):
    first_job, _, first = waiting(store, "deploy")
    second_job, _, second = waiting(store, "drop-db")
    listed = client.get("/v1/approvals", params={"status": "pending"}).json()
    assert listed["total"] == 2 and {a["id"] for a in listed["approvals"]} == {first, second}
    only = client.get("/v1/approvals", params={"job": second_job}).json()["approvals"]
    assert [a["id"] for a in only] == [second]
    assert client.get(f"/v1/approvals/{first}").json()["approval"]["job_id"] == first_job
    assert client.get("/v1/approvals", params={"status": "maybe"}).status_code == 422
    assert client.get("/v1/approvals/nope").status_code == 404


def test_approve_makes_the_run_due_and_records_who_and_why(client, store):
    _, run_id, approval_id = waiting(store, "deploy")
    answer = client.post(f"/v1/approvals/{approval_id}/approve", json={"by": "alice", "reason": "looks good"})
    assert answer.status_code == 200
    decided = answer.json()["approval"]
    assert (decided["status"], decided["resolved_by"], decided["reason"]) == ("approved", "alice", "looks good")
    assert runs.get(store, run_id).status == "pending"
    again = client.post(f"/v1/approvals/{approval_id}/reject")
    assert again.status_code == 409 and again.json()["error"]["code"] == "Conflict"
    assert client.get("/v1/approvals", params={"status": "approved"}).json()["total"] == 1


def test_reject_ends_the_run_without_a_body_too(client, store):
    _, run_id, approval_id = waiting(store, "purge")
    answer = client.post(f"/v1/approvals/{approval_id}/reject")
    assert answer.status_code == 200 and answer.json()["approval"]["resolved_by"] == "api"
    assert runs.get(store, run_id).status == "rejected"
    assert client.post("/v1/approvals/nope/approve").status_code == 404
    assert client.post(f"/v1/approvals/{approval_id}/approve", json={"by": ""}).json()["error"]["field"] == "by"
