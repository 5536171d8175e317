"""``/v1/tools`` against a real uvicorn server with a real worker and beat behind it (and the stand-in
gateway): an agent-style client adds seed 003's job, runs it and reads the outcome; a heartbeat rule wakes
the main session; ``cron.wake`` reaches it without the call waiting; and a client generated from the
OpenAPI document drives ``cron.add`` → ``cron.run`` → ``cron.runs``."""

from __future__ import annotations

import importlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from clawsched.api.app import create_app
from clawsched.sched import jobs, runs
from tests.support.agent_fixtures import *  # noqa: F403 - gateway, agent_settings, agent_worker, agent_beat
from tests.support.waiting import wait_for
from tests.test_api_tools import SEED_JOB

pytestmark = pytest.mark.services  # each test starts an HTTP server of its own

TOKEN = "live-tools-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app on a real uvicorn server on a free loopback port, in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="api", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), timeout=10, what="the API server to start")
        assert server.started, "the API server did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def api_url(agent_settings: Any, redis: Any) -> Iterator[str]:
    with serving(create_app(agent_settings.with_(api_token=TOKEN))) as url:
        yield url


class Agent:
    """What an agent's tool runner does: one POST per tool call, OpenClaw's ``{tool, args: {action}}``."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers=AUTH, timeout=10)

    def cron(self, action: str, **args: Any) -> dict[str, Any]:
        return self.call({"tool": "cron", "args": {"action": action, **args}})

    def call(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post("/v1/tools/invoke", json=body)
        data: dict[str, Any] = answer.json()
        assert answer.status_code == 200 and data["ok"] is True, answer.text
        return data


def finished_runs(agent: Agent, job_id: str) -> list[dict[str, Any]]:
    return [r for r in agent.cron("runs", jobId=job_id)["result"]["runs"] if r["outcome"]["finished"]]


def test_an_agent_adds_the_seed_job_runs_it_and_reads_its_outcome(api_url, store, gateway, agent_worker,
                                                                  agent_beat):
    gateway.reply = "Overnight: all quiet."
    agent = Agent(api_url)
    job_id = agent.cron("add", job=SEED_JOB)["result"]["jobId"]
    ran = agent.cron("run", jobId=job_id)
    assert ran["enqueued"] is True and ran["runId"]
    [entry] = wait_for(lambda: finished_runs(agent, job_id), timeout=20, what="the run's outcome in cron.runs")
    assert entry["runId"] == ran["runId"] and entry["trigger"] == "manual"
    assert entry["outcome"] == {"status": "ok", "finished": True, "ok": True, "summary": "Overnight: all quiet.",
                                "exitCode": None, "durationMs": entry["duration_ms"]}
    [chat] = gateway.requests_to("/v1/chat/completions")
    assert "Summarize overnight updates." in chat.body["messages"][-1]["content"]
    recent = agent.call({"tool": "proactive.runs", "args": {"jobId": job_id}})["result"]["runs"]
    assert [r["outcome"]["status"] for r in recent] == ["ok"]


def test_heartbeat_add_makes_a_main_session_wake_rule_that_fires(api_url, store, gateway, agent_worker, agent_beat):
    agent = Agent(api_url)
    added = agent.call({"tool": "heartbeat.add", "args": {"every": 1000, "text": "Heartbeat: anything new?"}})
    rule_id = added["result"]["jobId"]
    wakes = gateway.wait_for(lambda reqs: len([r for r in reqs if r.path == "/hooks/wake"]) >= 2, timeout=15)
    bodies = [r.body for r in wakes if r.path == "/hooks/wake"]
    assert all(b["text"].endswith("Heartbeat: anything new?") and b["mode"] == "now" for b in bodies)
    [rule] = wait_for(lambda: [h for h in agent.call({"tool": "heartbeat.list"})["result"]["heartbeats"]
                               if h["lastStatus"] == "ok"], timeout=10, what="the rule's last beat to be ok")
    assert rule["id"] == rule_id and rule["everyMs"] == 1000
    assert {r.trigger for r in runs.for_job(store, rule_id)} == {"schedule"}
    agent.call({"tool": "heartbeat.update", "args": {"jobId": rule_id, "enabled": False}})
    assert jobs.get(store, rule_id).enabled is False


def test_cron_wake_reaches_the_main_session_through_a_worker(api_url, store, gateway, agent_worker, agent_beat):
    agent = Agent(api_url)
    woken = agent.cron("wake", text="The build finished", mode="now")
    assert woken["enqueued"] is True
    [wake] = [r for r in gateway.wait_for(lambda reqs: any(r.path == "/hooks/wake" for r in reqs), timeout=15)
              if r.path == "/hooks/wake"]
    assert wake.body["mode"] == "now" and wake.body["text"].endswith("The build finished")
    done = wait_for(lambda: (r := runs.get(store, woken["runId"])).finished_at is not None and r, timeout=10,
                    what="the wake's run to finish")
    assert done.status == "ok"


def generate_client(app: Any, where: Path) -> Any:
    """A client package generated from the app's OpenAPI document by openapi-python-client, imported."""
    document = where / "openapi.json"
    document.write_text(json.dumps(app.openapi()))
    config = where / "config.yaml"
    config.write_text("project_name_override: clawsched-client\npackage_name_override: clawsched_client\n"
                      "post_hooks: []\n")
    done = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document),
                           "--output-path", str(where / "client"), "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(where / "client"))
    for name in [m for m in sys.modules if m.split(".")[0] == "clawsched_client"]:
        del sys.modules[name]
    return importlib.import_module("clawsched_client")


@pytest.fixture
def generated(tmp_path: Path, agent_settings: Any) -> Iterator[Any]:
    app = create_app(agent_settings.with_(api_token=TOKEN))
    app.state.runtime.close()  # only its document is needed
    client = generate_client(app, tmp_path)
    yield client
    sys.path.remove(str(tmp_path / "client"))


def test_a_client_generated_from_the_openapi_document_drives_add_run_runs(api_url, generated, gateway, agent_worker,
                                                                          agent_beat):
    invoke_tool = importlib.import_module("clawsched_client.api.tools.invoke_tool")
    list_tools = importlib.import_module("clawsched_client.api.tools.list_tools")
    models = importlib.import_module("clawsched_client.models")
    client = generated.AuthenticatedClient(base_url=api_url, token=TOKEN)

    def call(tool: str, **args: Any) -> Any:
        answer = invoke_tool.sync(client=client, body=models.ToolInvocation(
            tool=tool, args=models.ToolInvocationArgs.from_dict(args)))
        assert isinstance(answer, models.ToolAnswer), answer
        return answer

    listed = list_tools.sync(client=client)
    assert isinstance(listed, models.ToolList) and "cron.add" in {t.name for t in listed.tools}
    job_id = call("cron.add", job=SEED_JOB).result["jobId"]
    ran = call("cron.run", jobId=job_id)
    assert ran.enqueued is True and ran.run_id
    entry = wait_for(lambda: [r for r in call("cron.runs", jobId=job_id).result["runs"] if r["outcome"]["finished"]],
                     timeout=20, what="the run's outcome through the generated client")[0]
    assert entry["runId"] == ran.run_id and entry["outcome"]["status"] == "ok"
    missing = invoke_tool.sync(client=client, body=models.ToolInvocation(
        tool="cron.runs", args=models.ToolInvocationArgs.from_dict({"jobId": "no-such-job"})))
    assert isinstance(missing, models.ErrorOut) and missing.error.code == "NotFound"
