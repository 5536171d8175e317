"""``/v1/messages``, ``/v1/agents`` and ``/v1/aliases`` over HTTP: the same services as ``clawsched msg``,
``agents`` and ``alias``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import aliases, messages

TOKEN = "messages-test-token"


@pytest.fixture
def client(settings, redis) -> Iterator[TestClient]:
    app = create_app(settings.with_(api_token=TOKEN))
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def test_send_inbox_read_and_ack(client, store):
    sent = client.post("/v1/messages", json={"from_agent": "planner", "to_agent": "coder", "body": "build it",
                                             "subject": "task", "kind": "task", "priority": 2,
                                             "metadata": {"ticket": 7}})
    assert sent.status_code == 201
    msg = sent.json()["message"]
    assert (msg["status"], msg["priority"], msg["metadata"]) == ("pending", 2, {"ticket": 7})
    reply = client.post("/v1/messages", json={"from_agent": "coder", "to_agent": "planner", "body": "on it",
                                              "reply_to": msg["id"]}).json()["message"]
    inbox = client.get("/v1/agents/coder/inbox").json()["messages"]
    assert [m["id"] for m in inbox] == [msg["id"]]
    read = client.post(f"/v1/messages/{msg['id']}/read").json()["message"]
    assert read["status"] == "read" and read["read_at"]
    assert client.get("/v1/agents/coder/inbox").json()["messages"] == []
    assert [m["id"] for m in client.get("/v1/agents/coder/inbox", params={"include_read": "true"})
            .json()["messages"]] == [msg["id"]]
    acked = client.post(f"/v1/messages/{reply['id']}/ack", json={"actor": "planner", "note": "thanks"})
    assert acked.json()["message"]["status"] == "read"
    detail = client.get(f"/v1/messages/{reply['id']}").json()
    assert {r["event"] for r in detail["receipts"]} == {"read", "acked"}
    thread = client.get(f"/v1/messages/{reply['id']}/thread").json()["messages"]
    assert [m["id"] for m in thread] == [msg["id"], reply["id"]]
    assert messages.get(store, msg["id"]).status == "read"


def test_message_validation_is_422_with_the_field(client):
    def error(**fields: object) -> dict:
        answer = client.post("/v1/messages", json={"from_agent": "a", "to_agent": "b", "body": "x", **fields})
        assert answer.status_code == 422, answer.text
        return answer.json()["error"]

    assert error(kind="gossip")["field"] == "kind"
    assert error(priority=5)["field"] == "priority"
    assert error(body="   ")["field"] == "body"  # the service's own rule: blank is empty
    assert error(reply_to="nope")["field"] == "reply_to"
    assert error(to_agent="x" * 200)["field"] == "to_agent"
    assert error(body="nul \u0000 inside")["field"] == "body"
    assert client.get("/v1/messages/nope").status_code == 404
    assert client.post("/v1/messages/nope/read").status_code == 404


def test_agents_register_list_and_get(client):
    made = client.post("/v1/agents", json={"id": "coder", "name": "Coder", "capabilities": ["python"]})
    assert made.status_code == 200 and made.json()["agent"]["capabilities"] == ["python"]
    renamed = client.post("/v1/agents", json={"id": "coder", "name": "Coder 2"}).json()["agent"]
    assert renamed["name"] == "Coder 2" and renamed["capabilities"] == ["python"]  # unset fields are kept
    client.post("/v1/agents", json={"id": "alpha"})
    assert [a["id"] for a in client.get("/v1/agents").json()["agents"]] == ["alpha", "coder"]
    assert client.get("/v1/agents/coder").json()["agent"]["status"] == "idle"
    assert client.get("/v1/agents/nobody").status_code == 404
    assert client.post("/v1/agents", json={"id": "  "}).json()["error"]["field"] == "id"


def test_aliases_add_replace_list_get_and_remove(client, store):
    made = client.post("/v1/aliases", json={"name": "@ops", "channel": "telegram", "target": "-100"})
    assert made.status_code == 201 and made.json()["alias"]["name"] == "ops"
    client.post("/v1/aliases", json={"name": "ops", "channel": "slack", "target": "#ops", "description": "on call"})
    assert aliases.resolve(store, None, "@ops") == ("slack", "#ops")
    assert [a["name"] for a in client.get("/v1/aliases").json()["aliases"]] == ["ops"]
    assert client.get("/v1/aliases/@ops").json()["alias"]["description"] == "on call"
    assert client.delete("/v1/aliases/@ops").json() == {"ok": True, "removed": "ops"}
    assert client.delete("/v1/aliases/ops").status_code == 404
    assert client.get("/v1/aliases/ops").status_code == 404
    assert client.post("/v1/aliases", json={"name": "x", "channel": "", "target": "t"}).status_code == 422
