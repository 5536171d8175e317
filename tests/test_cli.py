"""The CLI as a user meets it: domain verbs, tables, --json, exit codes, nothing half-written."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs, runs
from clawsched.sched.store.models import Run
from tests.support.lifecycle import start_run
from tests.support.waiting import wait_for

SHELL = {"name": "disk check", "schedule_cron": "*/15 * * * *", "schedule_tz": "America/New_York",
         "session_target": "shell", "payload_message": "echo 42", "run_timeout_ms": 60000, "origin": "system"}


def test_add_list_get_json_roundtrip(run_cli, store):
    added = json.loads(run_cli("jobs", "add", json.dumps(SHELL), "--json").output)
    assert added["ok"] is True and added["dryRun"] is False
    job_id = added["job"]["id"]
    listed = json.loads(run_cli("jobs", "list", "--json").output)
    assert [j["id"] for j in listed] == [job_id]
    assert listed[0]["status"] == "idle"
    assert listed[0]["next_run_local"].endswith(("EST", "EDT"))
    got = json.loads(run_cli("jobs", "get", job_id, "--json").output)
    assert got["schedule_cron"] == "*/15 * * * *" and got["schedule_tz"] == "America/New_York"
    table = run_cli("jobs", "list").output
    assert "disk check" in table and "cron */15 * * * * (America/New_York)" in table


def test_dry_run_and_validate_write_nothing(run_cli, store):
    out = json.loads(run_cli("jobs", "add", json.dumps(SHELL), "--dry-run", "--json").output)
    assert out["dryRun"] is True
    assert "valid: disk check" in run_cli("jobs", "validate", json.dumps(SHELL)).output
    assert jobs.list_jobs(store) == []


def test_bad_spec_exits_2_names_the_field_and_writes_nothing(run_cli, store):
    bad = dict(SHELL, schedule_tz="Mars/Olympus", overlap_policy="sometimes")
    result = run_cli("jobs", "add", json.dumps(bad), "--json", expect=2)
    body = json.loads(result.output)
    assert body["ok"] is False
    fields = {e["field"] for e in body["errors"]}
    assert {"schedule_tz", "overlap_policy"} <= fields
    assert jobs.list_jobs(store) == []
    not_json = run_cli("jobs", "add", "{nope", expect=2)
    assert "not valid JSON" in not_json.output


def test_unknown_job_exits_3(run_cli):
    result = run_cli("jobs", "get", "nope", expect=3)
    assert "job 'nope' not found" in result.output


def test_run_now_answers_enqueued_and_runs(run_cli, store, worker, beat):
    job_id = json.loads(run_cli("jobs", "add", json.dumps(SHELL), "--json").output)["job"]["id"]
    answer = json.loads(run_cli("jobs", "run", job_id, "--json").output)
    assert answer["ok"] is True and answer["enqueued"] is True
    run = wait_for(lambda: (r := runs.get(store, answer["runId"])).status == "ok" and r, timeout=10)
    assert run.shell_stdout.strip() == "42"
    listed = json.loads(run_cli("runs", "list", job_id, "--json").output)
    assert [r["id"] for r in listed] == [answer["runId"]]
    assert run_cli("runs", "output", answer["runId"]).output == "42\n"
    assert json.loads(run_cli("jobs", "list", "--json").output)[0]["status"] == "ok"


def test_update_enable_disable_delete(run_cli, store):
    job_id = json.loads(run_cli("jobs", "add", json.dumps(SHELL), "--json").output)["job"]["id"]
    updated = json.loads(run_cli("jobs", "update", job_id, '{"schedule_cron": "0 9 * * *"}', "--json").output)
    assert updated["job"]["schedule_cron"] == "0 9 * * *"
    assert updated["job"]["next_run_at"].endswith(("13:00:00Z", "14:00:00Z"))
    run_cli("jobs", "disable", job_id)
    assert json.loads(run_cli("jobs", "list", "--json").output)[0]["status"] == "disabled"
    run_cli("jobs", "enable", job_id)
    assert jobs.get(store, job_id).enabled is True
    assert json.loads(run_cli("jobs", "delete", job_id, "--json").output)["deleted"] == 1
    assert jobs.list_jobs(store) == []


def test_status_schema_and_version(run_cli):
    status = json.loads(run_cli("status", "--json").output)
    assert status["checks"]["redis"]["ok"] is True and status["jobs"] == {"total": 0, "enabled": 0}
    schema = json.loads(run_cli("schema", "jobs").output)
    assert "schedule_cron" in json.dumps(schema)
    run_schema = json.loads(run_cli("schema", "runs").output)
    assert "awaiting_approval" in run_schema["statuses"] and "shell_exit_code" in run_schema["fields"]
    assert run_cli("--version").output.strip().endswith("0.1.0")
    assert json.loads(run_cli("version", "--json").output)["version"] == "0.1.0"


# What `jobs list` must never import: it runs on every call, on a 400 ms budget (SQLAlchemy alone is ~0.25 s
# of a 2-core machine's 0.4 s); it reads through the driver (sched/listing.py).
HEAVY = ("sqlalchemy", "pydantic", "celery", "httpx", "croniter")
LIST_IN_A_FRESH_PROCESS = f"""
import sys
from clawsched.cli.main import main
sys.argv = ["clawsched", "jobs", "list", "--json"]
try:
    main()
finally:
    print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
"""
EVERY_KIND_OF_COLUMN = [
    SHELL,
    {**SHELL, "name": "with env, secret and alert", "env": {"A": "1", "B": "two"}, "delivery_mode": "webhook",
     "delivery_to": "https://example.invalid/hook", "delivery_secret": "s3cret",
     "failure_alert": {"after": 2, "channel": "telegram", "to": "123"}, "overlap_policy": "allow"},
    {**SHELL, "name": "one shot", "schedule_cron": None, "schedule_at": "2031-05-04T03:02:01.250000Z",
     "delete_after_run": True},
    {**SHELL, "name": "disabled", "enabled": False},
]


def _list_in_a_fresh_process(settings) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAWSCHED_HOME": str(settings.home), "CLAWSCHED_DATABASE_URL": settings.database_url}
    done = subprocess.run([sys.executable, "-c", LIST_IN_A_FRESH_PROCESS], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_jobs_list_reads_through_the_driver_and_prints_what_get_prints(store, settings):
    made = [jobs.create(store, spec) for spec in EVERY_KIND_OF_COLUMN]
    run_id = runs.enqueue(store, made[0].id)
    with store.session() as s:  # as the beat leaves it: queued, so the worker's guarded start applies
        s.get(Run, run_id).status = "queued"
    assert start_run(store, run_id)
    done = _list_in_a_fresh_process(settings)
    assert done.stderr.splitlines()[-1] == "[]", done.stderr
    listed = json.loads(done.stdout)
    assert [j.pop("status") for j in listed] == ["running", "idle", "idle", "disabled"]
    assert all(j.pop("next_run_local") for j in listed)  # each in its own time zone
    assert listed == [jobs.as_dict(jobs.get(store, job.id)) for job in made]  # driver and ORM agree on every column
    assert listed[1]["delivery_secret"] == "***" and listed[1]["env"] == {"A": "***", "B": "***"}
    assert listed[2]["schedule_at"] == "2031-05-04T03:02:01.250000Z" and listed[2]["delete_after_run"] is True


def test_jobs_list_on_a_fresh_sqlite_home_creates_the_schema(tmp_path, redis_url):
    from clawsched.sched.settings import Settings

    fresh = Settings(home=tmp_path / "new", database_url=f"sqlite:///{tmp_path / 'new' / 'clawsched.db'}",
                     redis_url=redis_url)
    result = CliRunner().invoke(cli, ["jobs", "list", "--json"], obj=CliContext(fresh), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    assert (tmp_path / "new" / "clawsched.db").stat().st_size > 0


def test_jobs_list_names_the_fix_when_the_database_is_missing_or_unmigrated(tmp_path, redis_url):
    import sqlite3

    from clawsched.sched.settings import Settings

    empty = tmp_path / "other.db"
    sqlite3.connect(empty).execute("CREATE TABLE unrelated (x)").connection.commit()
    unmigrated = Settings(home=tmp_path, database_url=f"sqlite:///{empty}", redis_url=redis_url)
    result = CliRunner().invoke(cli, ["jobs", "list"], obj=CliContext(unmigrated))
    assert result.exit_code == 6 and "clawsched db upgrade" in result.output, result.output
    down = Settings(home=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none", redis_url=redis_url)
    result = CliRunner().invoke(cli, ["jobs", "list", "--json"], obj=CliContext(down))
    assert result.exit_code == 6 and "cannot reach the database at 127.0.0.1:1/none" in result.output, result.output


def test_short_lived_commands_leave_the_cycle_collector_on(run_cli):
    run_cli("jobs", "list", "--json")
    assert gc.isenabled()
    run_cli("jobs", "get", "nope", expect=3)  # the error path too
    assert gc.isenabled()
