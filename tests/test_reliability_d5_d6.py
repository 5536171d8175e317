"""Issue 19, D5 and D6: what a shell job prints is stored whatever bytes it holds, and a shell job never
sees the worker's secrets."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from clawsched.sched import jobs, runs
from clawsched.sched.store.finishing import NUL_SHOWN_AS
from clawsched.sched.store.models import RUNS
from clawsched.workers import execution

SHELL = {"session_target": "shell", "run_timeout_ms": 5000, "schedule_cron": "0 0 1 1 *"}


def _queued_run(store, job_id):
    run_id = jobs.run_now(store, job_id)
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="queued"))
    return run_id


@pytest.fixture
def runtime(settings, redis):
    from clawsched.sched.runtime import Runtime

    rt = Runtime(settings.with_(post_run="inline"))
    yield rt
    rt.close()


def _run(store, runtime, command, **fields):
    job = jobs.create(store, {**SHELL, "name": "d5-d6", "payload_message": command, **fields})
    run_id = _queued_run(store, job.id)
    status = execution.execute_and_process(runtime, run_id)
    return status, runs.get(store, run_id)


def test_a_nul_byte_in_output_is_stored_visibly_and_the_run_is_ok(store, runtime):
    status, run = _run(store, runtime, r"printf 'x\0y'; printf 'e\0r' >&2", delivery_guarantee="at-least-once")
    assert status == runs.RunStatus.OK
    assert (run.status, run.shell_stdout, run.shell_stderr) == ("ok", f"x{NUL_SHOWN_AS}y", f"e{NUL_SHOWN_AS}r")
    assert len(runs.for_job(store, run.job_id)) == 1


def test_a_shell_job_gets_no_secret_of_the_worker(store, runtime, monkeypatch):
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", "gateway-secret-1")
    monkeypatch.setenv("CLAWSCHED_API_TOKEN", "api-secret-2")
    monkeypatch.setenv("CLAWSCHED_DATABASE_URL", "postgresql://u:db-secret-3@h/db")
    status, run = _run(store, runtime, "env", env={"MY_SETTING": "mine"})
    assert status == runs.RunStatus.OK
    out = run.shell_stdout
    for secret in ("gateway-secret-1", "api-secret-2", "db-secret-3"):
        assert secret not in out
    assert "MY_SETTING=mine" in out and "CLAWSCHED_RUN_ID=" in out and "\nPATH=" in f"\n{out}"


def test_a_worker_variable_can_be_passed_on_by_name(store, settings, redis, monkeypatch):
    from clawsched.sched.runtime import Runtime

    monkeypatch.setenv("SITE_REGION", "eu-west")
    rt = Runtime(settings.with_(post_run="inline", shell_pass_env=("SITE_REGION",)))
    try:
        status, run = _run(store, rt, 'echo "region=$SITE_REGION"')
    finally:
        rt.close()
    assert (status, run.shell_stdout.strip()) == (runs.RunStatus.OK, "region=eu-west")


def test_env_values_are_masked_where_jobs_are_shown_and_kept_when_the_listing_is_sent_back(store):
    job = jobs.create(store, {**SHELL, "name": "creds", "payload_message": "true",
                              "env": {"API_KEY": "k-123", "REGION": "eu"}, "delivery_secret": "s-456"})
    shown = jobs.as_dict(jobs.get(store, job.id))
    assert shown["env"] == {"API_KEY": "***", "REGION": "***"} and shown["delivery_secret"] == "***"
    jobs.update(store, job.id, {"env": {**shown["env"], "REGION": "us"}, "delivery_secret": shown["delivery_secret"],
                                "name": "creds v2"})
    stored = jobs.get(store, job.id)
    assert (stored.env, stored.delivery_secret, stored.name) == ({"API_KEY": "k-123", "REGION": "us"}, "s-456",
                                                                 "creds v2")
