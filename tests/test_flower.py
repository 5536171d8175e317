"""Flower, started by ``clawsched flower`` in a subprocess, watching a real worker: its authenticated HTTP API
lists each run by its job's name, a run that exited non-zero (or timed out) is FAILURE with its exit code,
an ok run is SUCCESS, unauthenticated requests are refused, and maintenance tasks never show up."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from click.testing import CliRunner

from clawsched.api.auth import resolve_token
from clawsched.beat.publishing import send_runs
from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs, runs
from clawsched.sched.settings import Settings
from clawsched.sched.states import RunStatus
from clawsched.sched.store import claims
from clawsched.sched.store.finishing import Finished
from clawsched.sched.store.models import utcnow
from clawsched.sched.tasknames import MAINTENANCE, RUN
from clawsched.workers.app import create_app
from clawsched.workers.execution import Ended
from clawsched.workers.reporting import RunFailed, report
from tests.support.services import free_port
from tests.support.waiting import wait_for

JOBS = {  # job name -> (shell command, what its run becomes)
    "flower ok": ("echo fine", "ok"),
    "flower exit 7": ("echo broken >&2; exit 7", "error"),
    "flower slow": ("sleep 30", "timeout"),
}


class Flower:
    """A ``clawsched flower`` process and an HTTP client for it."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.log = proc, log
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, auth: tuple[str, str] | None = None, **params: Any) -> httpx.Response:
        return httpx.get(self.base + path, auth=auth, params=params, timeout=10)

    def answering(self) -> bool:
        assert self.proc.poll() is None, f"clawsched flower exited {self.proc.returncode}: {self.log.read_text()}"
        try:
            return self.get("/healthcheck").text == "OK"
        except httpx.TransportError:
            return False


def flower_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWSCHED_", "FLOWER_"))}
    return {**env, "CLAWSCHED_HOME": str(settings.home), "CLAWSCHED_DATABASE_URL": settings.database_url,
            "CLAWSCHED_REDIS_URL": settings.redis_url, "CLAWSCHED_NAMESPACE": settings.namespace}


@contextmanager
def flower_process(settings: Settings) -> Iterator[Flower]:
    port, log = free_port(), settings.home / "flower.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "clawsched.cli", "flower", "--port", str(port)],
                                env=flower_env(settings), stdout=out, stderr=subprocess.STDOUT)
    flower = Flower(proc, port, log)
    try:
        wait_for(flower.answering, timeout=60, interval=0.1, what="clawsched flower to answer")
        yield flower
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextmanager
def watched_worker(app: Any) -> Iterator[Any]:
    """A real worker in threads of this process, sending task events and heartbeats (Flower's inputs)."""
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING",
                      queues=app.clawsched_settings.consumed_queues(), shutdown_timeout=20,
                      without_heartbeat=False) as w:
        yield w


@contextmanager
def executed_tasks() -> Iterator[list[str]]:
    """The names of the tasks the in-process worker finished, in order."""
    names: list[str] = []

    def record(sender: Any = None, **_: Any) -> None:
        names.append(sender.name)

    signals.task_postrun.connect(record, weak=False)
    try:
        yield names
    finally:
        signals.task_postrun.disconnect(record)


def send_one_run_per_job(store: Any, app: Any) -> dict[str, str]:
    """Job name -> run id, each run claimed and published the way the beat does it."""
    made = {name: jobs.create(store, {"name": name, "session_target": "shell", "payload_message": command,
                                      "run_timeout_ms": 1500, "schedule_kind": "cron",
                                      "schedule_cron": "0 0 1 1 *"}).id
            for name, (command, _) in JOBS.items()}
    for job_id in made.values():
        runs.enqueue(store, job_id)
    claimed = claims.claim_due_runs(store, utcnow())
    assert {c.job_name for c in claimed} == set(JOBS)
    send_runs(app, claimed)
    return {c.job_name: c.run_id for c in claimed}


def listed(flower: Flower, auth: tuple[str, str], job_name: str) -> list[dict[str, Any]]:
    """The run tasks Flower finds by ``job_name``, once one of them reached a final state."""
    found = list(flower.get("/api/tasks", auth, taskname=RUN, search=f'args:"{job_name}"').json().values())
    return found if any(t["state"] in ("SUCCESS", "FAILURE") for t in found) else []


def worker_online(flower: Flower, hostname: str) -> bool:
    """Flower has received this worker's events (its events consumer is listening)."""
    return f'flower_worker_online{{worker="{hostname}"}} 1.0' in flower.get("/metrics").text


def test_flower_lists_runs_by_job_name_failures_as_failure_and_no_maintenance(settings, store, redis, app):
    auth = ("clawsched", str(resolve_token(settings)))
    with executed_tasks() as executed, watched_worker(app) as worker, flower_process(settings) as flower:
        wait_for(lambda: worker_online(flower, worker.hostname), timeout=30, what="Flower to hear the worker")
        for _ in range(3):
            app.send_task(MAINTENANCE, queue=settings.queue)
        wait_for(lambda: executed.count(MAINTENANCE) == 3, timeout=30, what="three maintenance tasks run")
        run_ids = send_one_run_per_job(store, app)
        shown = {name: wait_for(lambda n=name: listed(flower, auth, n), timeout=30, what=f"{name} in Flower")
                 for name in JOBS}
        every = flower.get("/api/tasks", auth).json()
        types = flower.get("/api/task/types", auth).json()["task-types"]
        metrics = flower.get("/metrics").text
        refused = [flower.get("/api/tasks").status_code, flower.get("/api/tasks", ("clawsched", "wrong")).status_code,
                   flower.get("/").status_code]
        wait_for(lambda: redis.hlen(f"{settings.namespace}:unacked") == 0, timeout=10, what="every message acked")
    assert all(len(tasks) == 1 for tasks in shown.values()), shown  # the search finds that job's run only
    for name, (task,) in shown.items():
        assert task["args"] == f"['{run_ids[name]}'] {name}"
        assert task["retries"] == 0 and task["worker"] == worker.hostname
    ok, failed, slow = (shown[name][0] for name in JOBS)
    assert (ok["state"], ok["result"]) == ("SUCCESS", "'flower ok: ok, exit code 0'")
    assert (failed["state"], failed["exception"]) == ("FAILURE", "RunFailed('flower exit 7: error, exit code 7')")
    assert slow["state"] == "FAILURE" and slow["exception"].startswith("RunFailed('flower slow: timeout")
    assert [runs.get(store, run_ids[n]).status for n in JOBS] == [outcome for _, outcome in JOBS.values()]
    assert runs.get(store, run_ids["flower exit 7"]).shell_exit_code == 7
    assert sorted(t["name"] for t in every.values()) == [RUN] * 3  # one task per run: nothing redelivered
    assert MAINTENANCE not in types and f'task="{MAINTENANCE}"' not in metrics
    assert refused == [401, 401, 401]
    assert auth[1] not in flower.log.read_text()  # it says where the password is, never what it is
    assert str(settings.home / "api-token") in flower.log.read_text()


def finished(status: str, exit_code: int | None, error: str | None = None, job: str | None = "nightly") -> Ended:
    run = SimpleNamespace(status=status, shell_exit_code=exit_code, error_message=error, job_id="job-1")
    return Ended(RunStatus(status), Finished(run, SimpleNamespace(name=job) if job else None))  # type: ignore[arg-type]


def test_an_ok_run_reports_its_job_status_and_exit_code():
    assert report(finished("ok", 0)) == "nightly: ok, exit code 0"
    assert report(finished("ok", None)) == "nightly: ok"  # an agent run
    assert report(finished("cancelled", -15, "cancelled by user")) == "nightly: cancelled, exit code -15: " \
                                                                     "cancelled by user"  # asked for: no failure
    assert report(finished("ok", 0, job=None)) == "job-1: ok, exit code 0"  # the job was deleted meanwhile


@pytest.mark.parametrize(("status", "code", "error", "message"), [
    ("error", 7, "exit code 7", "nightly: error, exit code 7"),
    ("timeout", -9, "timed out after 2s\nkilled", "nightly: timeout, exit code -9: timed out after 2s"),
    ("crashed", None, "worker died", "nightly: crashed: worker died"),
    ("error", None, "x" * 500, f"nightly: error: {'x' * 200}"),
])
def test_a_failed_run_raises_run_failed_naming_job_status_and_exit_code(status, code, error, message):
    with pytest.raises(RunFailed) as raised:
        report(finished(status, code, error))
    assert str(raised.value) == message
    again = pickle.loads(pickle.dumps(raised.value))  # a prefork child hands it to its parent pickled
    assert (type(again), str(again)) == (RunFailed, message)


def test_runs_that_did_not_finish_here_are_not_failures():
    assert report(Ended(RunStatus.SKIPPED)) == "skipped"
    assert report(Ended(RunStatus.PENDING)) == "pending"  # waiting for its gate
    assert report(Ended(RunStatus.CANCELLED)) == "cancelled"  # cancelled while it ran
    assert report(Ended(None)) == "duplicate"


def test_the_run_task_fails_quietly_once_and_maintenance_sends_no_events(settings):
    app = create_app(settings)
    run, maintain = app.tasks[RUN], app.tasks[MAINTENANCE]
    assert run.throws == (RunFailed,)  # logged in one line, no traceback
    assert run.acks_late and run.acks_on_failure_or_timeout and not run.reject_on_worker_lost
    assert not getattr(run, "autoretry_for", ()) and not app.conf.task_annotations
    assert maintain.send_events is False and run.send_events is True


def test_flower_refuses_a_login_name_with_a_colon_before_starting(settings):
    result = CliRunner().invoke(cli, ["flower", "--user", "a:b"], obj=CliContext(settings))
    assert result.exit_code == 2 and "without ':'" in result.output
    assert not (settings.home / "api-token").exists()


def test_runs_sent_again_carry_their_job_names_from_one_query(store):
    job = jobs.create(store, {"name": "resent", "session_target": "shell", "payload_message": "true",
                              "run_timeout_ms": 1000, "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *"})
    first, second = runs.enqueue(store, job.id), runs.enqueue(store, job.id)
    assert claims.with_job_names(store, [second, first, "gone"]) == [(second, "resent", "shell"),
                                                                      (first, "resent", "shell"), ("gone", "", "shell")]
    assert claims.with_job_names(store, []) == []
