"""Offloaded output is readable from a host that did not run the job (issue 18): the worker puts it in
the database, and ``clawsched runs output`` in another process, with another home and no access to the
worker's artifacts, returns every byte; retention takes it with the run. Real Celery worker, real beat,
SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clawsched.sched import jobs, output, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.store import upkeep
from clawsched.sched.store.tables import RUN_OUTPUT_CHUNKS, RUNS, utcnow
from tests.conftest import running_worker
from tests.support.waiting import wait_for

# 3 MB of stdout (numbered lines, multi-byte characters across chunk boundaries) and a little stderr
PAYLOAD = ("python3 -c \"import sys; [sys.stdout.write(f'{i:07d} é€\\n') for i in range(250000)]; "
           "sys.stderr.write('warn\\n')\"")


def _offloaded_run(store, redis, beat):
    job = jobs.create(store, {"name": "big", "session_target": "shell", "payload_message": PAYLOAD,
                              "run_timeout_ms": 60_000, "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *"})
    run_id = jobs.run_now(store, job.id)
    notify(redis, beat.service.app.clawsched_settings, "test")
    run = wait_for(lambda: (r := runs.get(store, run_id)).finished_at and r, timeout=60)
    assert run.status == "ok", run.error_message
    return run


def _output_elsewhere(settings, tmp_path, run_id: str) -> subprocess.CompletedProcess[bytes]:
    """``clawsched runs output`` as another host runs it: its own home, and in a mount namespace where the
    worker's artifacts folder is an empty tmpfs (the worker's files do not exist there)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("SKIPPED: unshare -m (a mount namespace) is unavailable; cannot hide the worker's files")
    other = tmp_path / "other-host"
    env = {**os.environ, "CLAWSCHED_HOME": str(other), "CLAWSCHED_DATABASE_URL": settings.database_url,
           "CLAWSCHED_REDIS_URL": settings.redis_url}
    hide = f"mount -t tmpfs none {shlex.quote(str(settings.artifacts))} && exec \"$@\""
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", hide, "sh", sys.executable,
                           "-m", "clawsched.cli", "runs", "output", run_id], env=env, capture_output=True, timeout=60)


def test_offloaded_output_is_read_in_full_from_another_host(store, redis, worker, beat, settings, tmp_path):
    run = _offloaded_run(store, redis, beat)
    expected = "".join(f"{i:07d} é€\n" for i in range(250000))
    assert run.shell_stdout_bytes == len(expected.encode()) > 3 * (1 << 20) // 2
    assert not os.path.exists(run.shell_stdout_path), "the worker's file is removed once the database has it"
    done = _output_elsewhere(settings, tmp_path, run.id)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == expected
    assert output.read(store, run, "stderr") == "warn\n"  # small: inline in the row, nothing offloaded


def test_offloaded_output_goes_with_its_run(store, redis, worker, beat):
    run = _offloaded_run(store, redis, beat)
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(RUN_OUTPUT_CHUNKS)
                        .where(RUN_OUTPUT_CHUNKS.c.run_id == run.id)) >= 3
    wait_for(lambda: runs.get(store, run.id).finalized_at, timeout=20)
    assert upkeep.prune_runs(store, created_before=utcnow() + timedelta(seconds=1)) >= 1
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(RUN_OUTPUT_CHUNKS)
                        .where(RUN_OUTPUT_CHUNKS.c.run_id == run.id)) == 0


def test_file_store_keeps_output_on_the_worker_host(store, redis, beat, settings, tmp_path):
    """``CLAWSCHED_OUTPUT_STORE=file``: the old behaviour, said plainly on another host."""
    from clawsched.workers.app import create_app

    with running_worker(create_app(settings.with_(output_store="file"))):
        run = _offloaded_run(store, redis, beat)
    assert os.path.exists(run.shell_stdout_path)
    done = _output_elsewhere(settings, tmp_path, run.id)
    assert done.returncode != 0 and b"Traceback" not in done.stderr
    assert b"not readable here" in done.stderr and run.hostname.encode() in done.stderr


def test_the_api_streams_offloaded_output_as_text(store, redis, worker, beat, settings):
    from fastapi.testclient import TestClient

    from clawsched.api.app import create_app

    run = _offloaded_run(store, redis, beat)
    expected = "".join(f"{i:07d} é€\n" for i in range(250000))
    with TestClient(create_app(settings.with_(api_token="t0ken")), raise_server_exceptions=False,
                    headers={"Authorization": "Bearer t0ken"}) as client:
        with client.stream("GET", f"/v1/runs/{run.id}/output.txt") as answer:
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
            pieces = list(answer.iter_bytes())
        assert b"".join(pieces).decode() == expected
        assert client.get("/v1/runs/nope/output.txt").status_code == 404
        assert client.get(f"/v1/runs/{run.id}/output.txt", headers={"Authorization": ""}).status_code == 401


def test_a_pruned_run_s_output_file_is_swept_from_its_host(store, redis, beat, settings):
    """D11: with output kept in files, retention deleted the runs and left their files (402 MB behind);
    the host's sweep deletes the file of a pruned run and keeps the file of a run that still exists."""
    from clawsched.sched.runtime import Runtime
    from clawsched.workers.app import create_app
    from clawsched.workers.upkeep import artifacts

    with running_worker(create_app(settings.with_(output_store="file"))):
        pruned, kept = _offloaded_run(store, redis, beat), _offloaded_run(store, redis, beat)
    for run in (pruned, kept):
        wait_for(lambda run=run: runs.get(store, run.id).finalized_at, timeout=20)
    with store.session() as s:  # only the first run is past retention
        s.execute(RUNS.update().where(RUNS.c.id == pruned.id).values(created_at=utcnow() - timedelta(days=400)))
    assert upkeep.prune_runs(store, created_before=utcnow() - timedelta(days=30)) == 1
    rt = Runtime(settings)
    try:
        assert artifacts.sweep(rt, older_than=utcnow().timestamp() + 1) == 1
    finally:
        rt.close()
    assert not os.path.exists(pruned.shell_stdout_path) and os.path.exists(kept.shell_stdout_path)
