"""``/v1/runs`` over HTTP: history across jobs with filters and paging, one run, its output, its lineage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import jobs
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store.models import Run
from clawsched.sched.store.run_rows import new_run

TOKEN = "runs-test-token"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(settings, redis) -> Iterator[TestClient]:
    app = create_app(settings.with_(api_token=TOKEN))
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def job(store: Any, name: str) -> str:
    return jobs.create(store, {"name": name, "schedule_cron": "0 0 1 1 *", "session_target": "shell",
                               "payload_message": "true", "run_timeout_ms": 5000}).id


def add_run(store: Any, job_id: str, minutes: int, status: RunStatus = RunStatus.OK, **extra: Any) -> str:
    values = new_run(job_id, 5000, trigger=extra.pop("trigger", Trigger.SCHEDULE), now=T0 + timedelta(minutes=minutes),
                     status=status, **extra)
    with store.session() as s:
        s.add(Run(**values))
    return str(values["id"])


def ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["runs"]]


def test_runs_across_jobs_filter_by_job_status_and_time(client, store):
    a, b = job(store, "a"), job(store, "b")
    a1 = add_run(store, a, 0)
    b1 = add_run(store, b, 10, RunStatus.ERROR)
    a2 = add_run(store, a, 20, RunStatus.TIMEOUT)
    b2 = add_run(store, b, 30)
    assert ids(client.get("/v1/runs")) == [b2, a2, b1, a1]  # newest first
    assert ids(client.get("/v1/runs", params={"job": a})) == [a2, a1]
    assert ids(client.get("/v1/runs", params=[("status", "error"), ("status", "timeout")])) == [a2, b1]
    window = {"since": "2026-03-01T12:10:00Z", "until": "2026-03-01T12:30:00Z"}
    assert ids(client.get("/v1/runs", params=window)) == [a2, b1]  # since inclusive, until exclusive
    naive = {"since": "2026-03-01T12:10:00", "until": "2026-03-01T13:30:00+01:00"}  # no offset: UTC
    assert ids(client.get("/v1/runs", params=naive)) == [a2, b1]
    assert ids(client.get("/v1/runs", params={"job": b, "status": "ok"})) == [b2]


def test_runs_page_with_a_total(client, store):
    j = job(store, "paged")
    made = [add_run(store, j, i) for i in range(5)]
    first = client.get("/v1/runs", params={"limit": 2}).json()
    rest = client.get("/v1/runs", params={"limit": 2, "offset": 2}).json()
    assert first["total"] == rest["total"] == 5
    assert [r["id"] for r in first["runs"] + rest["runs"]] == made[::-1][:4]


def test_bad_filters_are_422_and_an_unknown_job_404(client):
    assert client.get("/v1/runs", params={"status": "finished"}).json()["error"]["field"] == "query.status.0"
    assert client.get("/v1/runs", params={"since": "yesterday"}).status_code == 422
    assert client.get("/v1/runs", params={"offset": -1}).status_code == 422
    unknown = client.get("/v1/runs", params={"job": "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


def test_one_run_and_its_output_inline_or_offloaded(client, store, tmp_path):
    j = job(store, "talkative")
    inline = add_run(store, j, 0, shell_stdout="hello\n", shell_stderr="warn\n", shell_exit_code=0)
    big = tmp_path / "big.out"
    big.write_text("x" * 100_000 + "end\n")
    offloaded = add_run(store, j, 1, shell_stdout="[... tail]end\n", shell_stdout_path=str(big))
    got = client.get(f"/v1/runs/{inline}").json()["run"]
    assert got["job_id"] == j and got["shell_exit_code"] == 0 and got["created_at"] == "2026-03-01T12:00:00Z"
    assert client.get(f"/v1/runs/{inline}/output").json() == {"ok": True, "runId": inline, "stream": "stdout",
                                                             "bytes": 6, "output": "hello\n"}
    assert client.get(f"/v1/runs/{inline}/output", params={"stream": "stderr"}).json()["output"] == "warn\n"
    whole = client.get(f"/v1/runs/{offloaded}/output").json()
    assert whole["bytes"] == 100_004 and whole["output"].endswith("end\n")
    assert client.get(f"/v1/runs/{inline}/output", params={"stream": "both"}).status_code == 422
    for path in ("/v1/runs/nope", "/v1/runs/nope/output", "/v1/runs/nope/tree"):
        assert client.get(path).status_code == 404, path


def test_lineage_tree_both_ways(client, store):
    parent_job, child_job = job(store, "parent"), job(store, "child")
    first = add_run(store, parent_job, 0, RunStatus.ERROR)
    retry = add_run(store, parent_job, 1, retry_of=first, retry_count=1, trigger=Trigger.RETRY)
    child = add_run(store, child_job, 2, triggered_by_run=retry, chain_depth=1, trigger=Trigger.CHAIN)
    answer = client.get(f"/v1/runs/{child}/tree").json()
    assert (answer["run_id"], answer["root"], answer["ancestors"]) == (child, first, [retry, first])
    root = answer["tree"]
    assert (root["id"], root["relation"], root["focus"]) == (first, "root", False)
    (second,) = root["children"]
    assert (second["id"], second["relation"], second["retry_count"]) == (retry, "retry", 1)
    (last,) = second["children"]
    assert (last["id"], last["relation"], last["job_name"], last["focus"]) == (child, "chain", "child", True)
