"""A run started through the API goes to the workers from the API process (``api.sending``): it runs
with no beat at all, is sent once, and a broker that refuses the message hands it back to the beats."""

from __future__ import annotations

import socket
from typing import Any

from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import jobs, runs
from tests.support.waiting import wait_for

TOKEN = "sending-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHELL = {"session_target": "shell", "payload_message": "echo sent by the api", "schedule_cron": "0 0 1 1 *",
         "run_timeout_ms": 10_000, "overlap_policy": "allow"}


def _run(client: TestClient, job_id: str) -> dict[str, Any]:
    answer = client.post("/v1/tools/invoke", json={"tool": "cron.run", "args": {"jobId": job_id}}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_run_started_through_the_api_runs_with_no_beat(settings, store, redis, worker):
    job_id = jobs.create(store, {**SHELL, "name": "api-sent"}).id
    with TestClient(create_app(settings.with_(api_token=TOKEN))) as client:
        ran = _run(client, job_id)
        rest = client.post(f"/v1/jobs/{job_id}/run", headers=AUTH)
    assert ran["enqueued"] is True and ran["result"]["beatWoken"] is True
    assert rest.status_code == 202, rest.text
    ids = [ran["runId"], rest.json()["runId"]]
    done = wait_for(lambda: all(runs.get(store, i).status == "ok" for i in ids), timeout=20,
                    what="both API-started runs to end ok with no beat running")
    assert done
    for run_id in ids:
        run = runs.get(store, run_id)
        assert run.shell_stdout.strip() == "sent by the api" and run.dispatched_at is not None


def test_a_run_the_broker_refuses_goes_back_to_the_beats_as_pending(settings, store, redis):
    with socket.socket() as s:  # a loopback port nothing listens on: the broker is down
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    job_id = jobs.create(store, {**SHELL, "name": "api-refused"}).id
    with TestClient(create_app(settings.with_(api_token=TOKEN, redis_url=dead))) as client:
        ran = _run(client, job_id)
    assert ran["enqueued"] is True and ran["result"]["beatWoken"] is False
    run = runs.get(store, ran["runId"])
    assert run.status == "pending" and run.dispatched_at is None, "the beats must still send it"
