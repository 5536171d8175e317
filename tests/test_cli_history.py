"""Issue 15, "history is kept": deleting a job keeps its runs, marked with the deleted job's name and id,
unless ``--purge``; ``delete_after_run`` removes the job, not its run; deleting a parent needs ``--yes``."""

from __future__ import annotations

import json

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.errors import NotFound
from clawsched.sched.store.models import Run
from tests.support.waiting import wait_for

SHELL = {"name": "nightly report", "schedule_cron": "0 3 * * *", "session_target": "shell",
         "payload_message": "echo done", "run_timeout_ms": 60000}


def _finished(store, job_id: str) -> str:
    run_id = runs.enqueue(store, job_id)
    with store.session() as s:
        s.get(Run, run_id).status = "ok"
    return run_id


def test_delete_keeps_the_runs_with_the_jobs_name_and_purge_removes_them(run_cli, store):
    job = jobs.create(store, SHELL)
    run_id = _finished(store, job.id)
    said = run_cli("jobs", "delete", job.id[:12]).output
    assert "runs are kept" in said
    assert json.loads(run_cli("jobs", "list", "--json").output) == []
    assert "was deleted" in run_cli("jobs", "get", job.id, expect=3).output
    kept = json.loads(run_cli("runs", "list", "--job", job.id, "--json").output)
    assert [r["id"] for r in kept] == [run_id] and kept[0]["job_id"] == job.id
    assert "nightly report (deleted)" in run_cli("runs", "list").output
    assert "job_name: nightly report (deleted)" in run_cli("runs", "get", run_id).output
    assert "was deleted" in run_cli("jobs", "run", job.id, expect=3).output
    with pytest.raises(NotFound):
        runs.enqueue(store, job.id)  # nothing runs a deleted job
    other = jobs.create(store, {**SHELL, "name": "scratch"})
    gone = _finished(store, other.id)
    assert json.loads(run_cli("jobs", "delete", other.id, "--purge", "--json").output)["runsKept"] is False
    with pytest.raises(NotFound):
        runs.get(store, gone)


def test_deleting_a_parent_asks_for_yes_before_removing_its_children(run_cli, store):
    parent = jobs.create(store, SHELL)
    child = jobs.create(store, {**SHELL, "name": "mail it", "schedule_cron": None, "parent_id": parent.id,
                                "trigger_on": "success"})
    refused = run_cli("jobs", "delete", parent.id, expect=4).output
    assert "mail it" in refused and "--yes" in refused
    assert jobs.get(store, child.id).parent_id == parent.id  # nothing was changed
    assert json.loads(run_cli("jobs", "delete", parent.id, "--yes", "--json").output)["deleted"] == 2
    assert jobs.list_jobs(store) == []


def test_delete_after_run_removes_the_job_and_keeps_its_run(run_cli, store, worker, beat):
    job = jobs.create(store, {**SHELL, "name": "one shot", "schedule_cron": None, "delete_after_run": True,
                              "schedule_kind": "at", "schedule_at": "2030-01-01T00:00:00Z"})
    run_id = runs.enqueue(store, job.id)
    run_cli("jobs", "run", job.id)  # wakes the beat; the run above or this one runs first
    wait_for(lambda: not jobs.list_jobs(store), timeout=20)
    done = [r for r in runs.recent(store, job_id=job.id) if r.status == "ok"]
    assert done, [(r.id, r.status) for r in runs.recent(store, job_id=job.id)]
    assert run_id in {r.id for r in runs.recent(store, job_id=job.id)}
    assert "one shot (deleted)" in run_cli("runs", "list", "--job", job.id).output
