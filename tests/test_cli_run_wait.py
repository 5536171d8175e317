"""Issue 15, "messages that say what really happened" and "progress and follow": ``jobs run`` on a running
job says what the run will do under its overlap policy; ``--wait`` prints the outcome and exits with the
run's status; ``--follow`` streams the output while it runs. Real worker and beat."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs, runs
from clawsched.sched.store.models import Run
from tests.support.lifecycle import start_run

SHELL = {"name": "counter", "schedule_cron": "0 0 1 1 *", "session_target": "shell", "run_timeout_ms": 60000}


def _running(store, job_id: str) -> str:
    run_id = runs.enqueue(store, job_id)
    with store.session() as s:
        s.get(Run, run_id).status = "queued"
    assert start_run(store, run_id)
    return run_id


@pytest.mark.parametrize(("policy", "outcome", "words"), [
    ("skip", "skipped", "will be recorded skipped"), ("queue", "queued", "queued behind it"),
    ("allow", "parallel", "runs beside it")])
def test_run_now_on_a_running_job_says_what_the_run_will_do(run_cli, store, policy, outcome, words):
    job = jobs.create(store, {**SHELL, "payload_message": "true", "overlap_policy": policy})
    busy = _running(store, job.id)
    said = run_cli("jobs", "run", job.id[:12]).output
    assert words in said and busy[:12] in said and f"overlap_policy {policy}" in said, said
    answer = json.loads(run_cli("jobs", "run", job.id, "--json").output)
    assert answer["overlap"]["outcome"] == outcome and answer["overlap"]["running"] == [busy]


def test_run_now_on_an_idle_job_says_queued(run_cli, store):
    job = jobs.create(store, {**SHELL, "payload_message": "true"})
    assert json.loads(run_cli("jobs", "run", job.id, "--json").output)["overlap"] is None


def test_wait_prints_the_outcome_and_exits_with_the_runs_status(run_cli, store, worker, beat):
    good = jobs.create(store, {**SHELL, "payload_message": "echo fine"})
    done = run_cli("jobs", "run", good.id, "--wait")
    assert " ok in " in done.stderr and "exit code 0" in done.stderr
    bad = jobs.create(store, {**SHELL, "name": "broken", "payload_message": "echo no >&2; exit 3"})
    failed = run_cli("jobs", "run", bad.id, "--wait", expect=3)
    assert " error" in failed.stderr and "exit code 3" in failed.stderr
    body = json.loads(run_cli("jobs", "run", bad.id, "--wait", "--json", expect=3).stdout)
    assert body["ok"] is False and body["run"]["status"] == "error" and body["exit"] == 3


def test_follow_streams_the_output_in_order_each_line_once(run_cli, store, worker, beat):
    job = jobs.create(store, {**SHELL, "payload_message": "for i in 1 2 3; do echo line $i; sleep 0.3; done"})
    followed = run_cli("jobs", "run", job.id, "--follow")
    assert followed.stdout == "line 1\nline 2\nline 3\n"
    assert " ok " in followed.stderr


def test_enqueue_without_a_gateway_says_the_run_waits_for_it(run_cli, settings, store):
    from clawsched.sched.settings import Settings

    assert isinstance(settings, Settings)
    nowhere = settings.with_(gateway_url="http://127.0.0.1:9")  # the discard port: nothing answers
    result = CliRunner().invoke(cli, ["enqueue", "--label", "nightly", "--message", "summarise"],
                                obj=CliContext(nowhere))
    assert result.exit_code == 0, result.output
    assert "queued" in result.stdout and "running" not in result.stdout
    assert "gateway at http://127.0.0.1:9 is not ready" in result.stderr and "waits for it" in result.stderr
