"""Runs go to queues by target (issue 18): shell runs to ``<ns>.shell``, agent runs to ``<ns>.agent``, a job
naming ``queue`` to ``<ns>.<queue>``; ``clawsched worker -Q`` picks queues, and each run records the queue,
host and pid that ran it. Real beat, real ``clawsched worker`` processes, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import SpecError
from tests.support.waiting import wait_for
from tests.support.worker_process import worker_process

NEVER = {"schedule_kind": "cron", "schedule_cron": "0 0 1 1 *", "run_timeout_ms": 60_000}


def _job(store, name: str, **fields):
    return jobs.create(store, {"name": name, "session_target": "shell", "payload_message": "echo ran",
                               **NEVER, **fields})


def _status(settings) -> dict:
    result = CliRunner().invoke(cli, ["status", "--json"], obj=CliContext(settings), catch_exceptions=False)
    return json.loads(result.output)


def test_runs_land_on_the_queue_their_target_names(settings, store, redis, app, beat, tmp_path):
    gate = tmp_path / "release"
    long_shell = _job(store, "long", payload_message=f"while [ ! -e {gate} ]; do sleep 0.05; done")
    gpu = _job(store, "on gpu", queue="gpu")
    agent = jobs.create(store, {"name": "agent", "session_target": "isolated", "payload_message": "hi", **NEVER})
    with worker_process(app, settings, tmp_path / "shell.log", name="shellw", concurrency=1, args=("-Q", "shell")):
        held = jobs.run_now(store, long_shell.id)
        notify(redis, settings, "test")
        wait_for(lambda: runs.get(store, held).status == "running", timeout=20, what="the long shell run")
        gpu_run, agent_run = jobs.run_now(store, gpu.id), jobs.run_now(store, agent.id)
        notify(redis, settings, "test")
        for route in ("gpu", "agent"):  # sent to its own queue, which the shell worker does not consume
            key = f"{settings.namespace}:{settings.run_queue(route)}"
            wait_for(lambda k=key: redis.llen(k) == 1, timeout=10, what=f"the {route} run's message")
        queues = _status(settings)["queues"]
        assert queues[settings.run_queue("gpu")] == {"route": "gpu", "depth": 1, "consumers": []}
        assert queues[settings.run_queue("shell")]["consumers"] == [f"shellw@{socket.gethostname()}"]
        with worker_process(app, settings, tmp_path / "gpu.log", name="gpuw", concurrency=1, args=("-Q", "gpu")):
            # the shell worker's only slot is still taken: the gpu run does not wait behind it
            ran = wait_for(lambda: (r := runs.get(store, gpu_run)).finished_at and r, timeout=20, what="gpu run")
            assert runs.get(store, held).status == "running"
        gate.touch()
        long_run = wait_for(lambda: (r := runs.get(store, held)).finished_at and r, timeout=20, what="long run")
    assert (ran.status, ran.queue, ran.hostname) == ("ok", "gpu", socket.gethostname())
    assert (long_run.status, long_run.queue) == ("ok", "shell")
    assert ran.pid and long_run.pid and ran.pid != long_run.pid  # each worker's own child
    assert runs.get(store, agent_run).status == "queued"  # nobody consumes the agent queue here


def test_queue_names_are_checked_where_they_are_given(settings, store):
    try:
        _job(store, "bad", queue="two words")
    except SpecError as exc:
        assert "queue" in str(exc)
    else:
        raise AssertionError("a queue name with a space was accepted")
    assert jobs.count(store)["total"] == 0  # nothing written
    result = CliRunner().invoke(cli, ["worker", "-Q", "shell,bad/name"], obj=CliContext(settings))
    assert result.exit_code == 2 and "'-Q' / '--queues'" in result.output and "bad/name" in result.output
    assert "Traceback" not in result.output


def test_worker_queue_lists_take_commas_or_colons():
    from clawsched.sched.rules.routing import parse_routes

    assert parse_routes("shell:agent") == parse_routes("shell, agent,shell") == ("shell", "agent")
