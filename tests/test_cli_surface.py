"""Issue 15, the CLI as a newcomer meets it: --json before or after the command (or CLAWSCHED_JSON),
negative chat ids without ``--``, runs across jobs with filters, names beside ids, readable ``key: value``
output instead of JSON or Python reprs, trees drawn with ``├─``/``└─``."""

from __future__ import annotations

import json

from clawsched.sched import jobs, runs
from clawsched.sched.store.models import Run

SHELL = {"name": "disk check", "schedule_cron": "*/15 * * * *", "session_target": "shell",
         "payload_message": "echo 42", "run_timeout_ms": 60000}


def _finished(store, job_id: str, status: str) -> str:
    run_id = runs.enqueue(store, job_id)
    with store.session() as s:
        s.get(Run, run_id).status = status
    return run_id


def test_json_before_after_and_from_the_environment(run_cli, store):
    job = jobs.create(store, SHELL)
    run_id = _finished(store, job.id, "ok")
    for args, env in ((["--json", "runs", "list", job.id], None), (["runs", "list", job.id, "--json"], None),
                      (["runs", "list", job.id], {"CLAWSCHED_JSON": "1"})):
        assert [r["id"] for r in json.loads(run_cli(*args, env=env).output)] == [run_id], args


def test_negative_chat_ids_are_arguments_and_json_is_never_swallowed(run_cli, store):
    from clawsched.sched import aliases

    assert "@my_team -> telegram -100200000000" in run_cli("alias", "add", "my_team", "telegram",
                                                            "-100200000000").output
    shown = json.loads(run_cli("alias", "add", "ops2", "telegram", "--", "-100200000001", "--json").output)
    assert shown["target"] == "-100200000001" and shown["description"] is None
    assert aliases.get(store, "ops2").description is None


def test_runs_list_across_jobs_with_filters_and_names(run_cli, store):
    disk = jobs.create(store, SHELL)
    backup = jobs.create(store, {**SHELL, "name": "nightly backup"})
    ok = _finished(store, disk.id, "ok")
    failed = _finished(store, backup.id, "error")
    every = json.loads(run_cli("runs", "list", "--json").output)
    assert {r["id"] for r in every} == {ok, failed}
    assert [r["id"] for r in json.loads(run_cli("runs", "list", "--status", "error", "--json").output)] == [failed]
    assert [r["id"] for r in json.loads(run_cli("runs", "list", "--job", disk.id[:12], "--json").output)] == [ok]
    assert json.loads(run_cli("runs", "list", "--since", "1h", "--limit", "1", "--json").output)[0]["id"] in (
        ok, failed)
    assert json.loads(run_cli("runs", "list", "--since", "2999-01-01T00:00:00Z", "--json").output) == []
    table = run_cli("runs", "list").output
    assert "nightly backup" in table and "disk check" in table and ok[:12] in table
    assert "--since" in run_cli("runs", "list", "--since", "yesterday-ish", expect=2).output


def test_approvals_list_shows_job_names(run_cli, store):
    from sqlalchemy import insert

    from clawsched.sched.store.tables import APPROVALS

    job = jobs.create(store, {**SHELL, "name": "gated deploy"})
    run_id = _finished(store, job.id, "awaiting_approval")
    with store.session() as s:
        s.execute(insert(APPROVALS).values(job_id=job.id, run_id=run_id))
    assert "gated deploy" in run_cli("approvals", "list").output


def test_get_commands_print_key_value_lines_not_json_or_reprs(run_cli, store):
    job = jobs.create(store, SHELL)
    run_id = _finished(store, job.id, "ok")
    shown = run_cli("jobs", "get", job.id[:12]).output
    assert not shown.lstrip().startswith("{") and "schedule_cron: */15 * * * *" in shown
    got = run_cli("runs", "get", run_id[:12]).output
    assert "job_name: disk check" in got and "status: ok" in got and "None" not in got
    run_cli("agents", "register", "ops", "Ops agent")
    agent = run_cli("agents", "get", "ops").output
    assert "None" not in agent and "name: Ops agent" in agent
    status = run_cli("status").output
    assert "{" not in status and "jobs: 1 (1 enabled)" in status and "runs: 1 ok" in status


def test_jobs_tree_draws_branches(run_cli, store):
    root = jobs.create(store, {**SHELL, "name": "build"})
    first = jobs.create(store, {**SHELL, "name": "deploy", "parent_id": root.id, "schedule_cron": None,
                                "trigger_on": "success"})
    jobs.create(store, {**SHELL, "name": "smoke", "parent_id": first.id, "schedule_cron": None,
                        "trigger_on": "success"})
    jobs.create(store, {**SHELL, "name": "alert", "parent_id": root.id, "schedule_cron": None,
                        "trigger_on": "failure"})
    lines = run_cli("jobs", "tree").output.splitlines()
    assert [line.split(" [")[0].split(" (")[0] for line in lines] == [
        "build", "├─ deploy", "│  └─ smoke", "└─ alert"]


def test_jobs_list_type_means_job_type_or_target_and_refuses_others(run_cli, store):
    jobs.create(store, SHELL)
    assert len(json.loads(run_cli("jobs", "list", "--type", "shell", "--json").output)) == 1
    assert json.loads(run_cli("jobs", "list", "--type", "isolated", "--json").output) == []
    assert len(json.loads(run_cli("jobs", "list", "--type", "standard", "--json").output)) == 1
    assert "bogus" in run_cli("jobs", "list", "--type", "bogus", expect=2).output


def test_dispatch_status_takes_the_label_positionally(run_cli):
    assert "dispatch 'nope' not found" in run_cli("dispatch", "status", "nope", expect=3).output.replace('"', "'")
    assert "label" in run_cli("dispatch", "status", expect=2).output
