"""Pools, crashes, lost messages and cancel, with real worker PROCESSES (``clawsched worker``) where a
crash or a cross-process race is the point. Real Redis, a real beat, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.store.models import Run
from tests.support import worker_process
from tests.support.waiting import wait_for


def shell(name: str, payload: str, **fields: Any) -> dict[str, Any]:
    spec = {"name": name, "session_target": "shell", "payload_message": payload, "run_timeout_ms": 90_000,
            "schedule_cron": "0 0 1 1 *"}
    spec.update(fields)
    return spec


class WorkerProcess(worker_process.WorkerProcess):
    """``clawsched worker`` in its own process group, configured like the test's settings; killable."""

    def __init__(self, settings: Any, name: str, log: Path, concurrency: int = 2) -> None:
        super().__init__(worker_process.worker_env(settings), name, log, concurrency)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)


@contextmanager
def workers(app: Any, settings: Any, tmp_path: Path, *names: str, concurrency: int = 2
            ) -> Iterator[list[WorkerProcess]]:
    started = [WorkerProcess(settings, n, tmp_path / f"{n}.log", concurrency) for n in names]
    try:
        for w in started:
            w.wait_ready(app)
        yield started
    finally:
        for w in started:
            w.stop()


def kill_pidfile(path: Path) -> None:
    with suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.killpg(int(path.read_text().split()[0]), signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


def test_a_resource_pool_never_runs_two_jobs_at_once_across_worker_processes(app, store, redis, beat, settings,
                                                                             tmp_path):
    backup = jobs.create(store, shell("backup", "sleep 0.15", resource_pool="db", overlap_policy="queue"))
    migrate = jobs.create(store, shell("migrate", "sleep 0.15", resource_pool="db", overlap_policy="queue"))
    free = jobs.create(store, shell("free", "sleep 0.15", overlap_policy="allow"))
    with workers(app, settings, tmp_path, "w1", "w2"):
        # enough pool runs that both worker processes get some, even when one is slow to take messages
        ids = [jobs.run_now(store, j.id) for _ in range(10) for j in (backup, migrate)]
        outside = [jobs.run_now(store, free.id) for _ in range(2)]
        notify(redis, settings, "test")
        done = wait_for(lambda: all(runs.get(store, i).status == "ok" for i in ids + outside) and
                        [runs.get(store, i) for i in ids], timeout=60, what="all pool runs to finish")
    spans = sorted((r.started_at, r.finished_at, r.worker_id, r.pid) for r in done)
    for (_, end, *_), (start, *_) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"pool overlap: a run started at {start} before another ended at {end}"
    assert len({w for _, _, w, _ in spans}) == 2, "both worker processes took pool runs"
    assert len({p for *_, p in spans}) >= 2
    waited = [r for r in done if r.not_before and r.dispatched_at and r.not_before > r.created_at]
    assert waited, "some runs had to wait for the pool (deferred, not skipped)"
    assert not any(r.status == "skipped" for r in done)


def test_sigkill_crash_replays_at_least_once_only_and_frees_the_pool(app, store, redis, beat, settings, tmp_path):
    marks = {n: tmp_path / n for n in ("a.pid", "a.done", "b.pid")}
    once, most, waiter = _crash_jobs(store, marks)
    try:
        first_a, first_b, blocked, killed_at = _sigkill_mid_run(app, store, redis, settings, tmp_path, marks,
                                                                (once, most, waiter))
        assert runs.get(store, blocked).status in ("pending", "queued")  # still waiting, not lost
        with workers(app, settings, tmp_path, "survivor"):
            crashed_a = wait_for(lambda: (r := runs.get(store, first_a)).status == "crashed" and r, timeout=20)
            detected_after = time.monotonic() - killed_at
            crashed_b = wait_for(lambda: (r := runs.get(store, first_b)).status == "crashed" and r.finalized_at and r,
                                 timeout=20)
            replay = wait_for(lambda: (r := _replay_of(store, first_a)) and r.status == "ok" and r, timeout=20)
            # the killed run holds its pool slot until it is closed crashed; then the waiter gets the pool
            wait_for(lambda: runs.get(store, blocked).status == "ok", timeout=20, what="the pool to be usable again")
            freed_after = time.monotonic() - killed_at
    finally:
        for pidfile in (marks["a.pid"], marks["b.pid"]):
            kill_pidfile(pidfile)
    assert "stopped heartbeating" in crashed_a.error_message
    assert replay.trigger == "replay" and replay.shell_stdout.strip() == "replayed"
    assert replay.idempotency_key and replay.idempotency_key == crashed_a.idempotency_key
    assert {r.id for r in runs.for_job(store, once.id)} == {replay.id, first_a}  # exactly one replay
    assert [r.id for r in runs.for_job(store, most.id)] == [crashed_b.id]  # at-most-once: no replay
    assert jobs.get(store, most.id).consecutive_errors == 1
    assert detected_after < settings.stale_after_s + 8
    print(f"\ncrash detected {detected_after:.2f}s after SIGKILL; the pool's waiter ran after {freed_after:.2f}s")


def _crash_jobs(store: Any, marks: dict[str, Path]) -> tuple[Any, Any, Any]:
    """An at-least-once run holding pool ``p``, an at-most-once run, and a member of ``p`` that must wait."""
    once = jobs.create(store, shell(
        "at-least-once", f"if [ -e {marks['a.done']} ]; then echo replayed; else touch {marks['a.done']}; "
                         f"echo $$ > {marks['a.pid']}; sleep 60; fi",
        delivery_guarantee="at-least-once", resource_pool="p"))
    most = jobs.create(store, shell("at-most-once", f"echo $$ > {marks['b.pid']}; sleep 60"))
    waiter = jobs.create(store, shell("same pool", "echo got the pool", resource_pool="p", overlap_policy="queue"))
    return once, most, waiter


def _sigkill_mid_run(app: Any, store: Any, redis: Any, settings: Any, tmp_path: Path, marks: dict[str, Path],
                     crash_jobs: tuple[Any, Any, Any]) -> tuple[str, str, str, float]:
    """Both runs running and the pool member waiting on one worker process, which is then SIGKILLed.

    Returns the ids of the two killed runs and of the waiting one, and when the kill was (``time.monotonic()``)."""
    once, most, waiter = crash_jobs
    with workers(app, settings, tmp_path, "doomed", concurrency=3) as (doomed,):
        first_a, first_b = jobs.run_now(store, once.id), jobs.run_now(store, most.id)
        notify(redis, settings, "test")
        wait_for(lambda: all(runs.get(store, i).status == "running" for i in (first_a, first_b))
                 and marks["a.pid"].exists() and marks["b.pid"].exists(), timeout=20)
        blocked = jobs.run_now(store, waiter.id)
        notify(redis, settings, "test")
        wait_for(lambda: (r := runs.get(store, blocked)).status == "pending" and r.skip_reason, timeout=10,
                 what="the pool member to wait")
        doomed.kill(signal.SIGKILL)  # the worker and its pool children, mid-run (their shells die with them)
        killed_at = time.monotonic()
    return first_a, first_b, blocked, killed_at


def _pid_when_written(path: Path) -> int | None:
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text else None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the process tree is the point, not the store
def test_a_dying_worker_process_takes_its_shells_and_their_children_with_it(app, store, redis, beat, settings,
                                                                            tmp_path):
    """SIGKILL to the pool child running a shell, then to a whole worker: each time the shell and what it
    started die too (``orphans``), so a run that recovery replays elsewhere never runs beside the original."""
    def start(tag: str) -> tuple[str, list[int]]:
        shell_pid, child_pid = tmp_path / f"{tag}.shell", tmp_path / f"{tag}.child"
        job = jobs.create(store, shell(tag, f"sleep 120 & echo $! > {child_pid}; echo $$ > {shell_pid}; wait"))
        run_id = jobs.run_now(store, job.id)
        notify(redis, settings, "test")
        pids = wait_for(lambda: (s := _pid_when_written(shell_pid)) and (c := _pid_when_written(child_pid))
                        and runs.get(store, run_id).status == "running" and [s, c], timeout=20,
                        what=f"{tag}'s shell and its child to start")
        assert all(alive(p) for p in pids)
        return run_id, pids

    try:
        with workers(app, settings, tmp_path, "doomed") as (doomed,):
            run_id, first = start("pool-child")
            pool_child = runs.get(store, run_id).pid
            assert pool_child and pool_child != doomed.proc.pid
            os.kill(pool_child, signal.SIGKILL)  # the worker's main process lives on and forks a new child
            wait_for(lambda: not any(alive(p) for p in first), timeout=10,
                     what="the shell and its child to die with their pool process")
            _, second = start("whole-worker")
            doomed.kill(signal.SIGKILL)  # main process and pool children at once
            wait_for(lambda: not any(alive(p) for p in second), timeout=10,
                     what="the shell and its child to die with the worker")
    finally:
        for path in tmp_path.glob("*.shell"):
            kill_pidfile(path)
        for path in tmp_path.glob("*.child"):
            with suppress(ValueError, ProcessLookupError):
                os.kill(int(path.read_text()), signal.SIGKILL)


def _replay_of(store: Any, run_id: str) -> Run | None:
    from sqlalchemy import select

    with store.read() as s:
        return s.scalars(select(Run).where(Run.replay_of == run_id)).first()


def test_flushing_redis_with_runs_queued_loses_none(app, store, redis, beat, settings):
    from celery.contrib.testing.worker import start_worker

    job = jobs.create(store, shell("queued", "echo done", overlap_policy="allow"))
    ids = [jobs.run_now(store, job.id) for _ in range(5)]
    notify(redis, settings, "test")
    wait_for(lambda: all(runs.get(store, i).status == "queued" for i in ids), timeout=10, what="runs claimed")
    queue_key = f"{settings.namespace}:{settings.run_queue('shell')}"
    wait_for(lambda: redis.llen(queue_key) >= len(ids), timeout=10, what="the run messages to be in Redis")
    keys = list(redis.scan_iter(match=f"{settings.namespace}*", count=1000))
    redis.delete(*keys)  # every message is gone
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING",
                      queues=settings.consumed_queues(), shutdown_timeout=20):
        done = wait_for(lambda: all(runs.get(store, i).status == "ok" for i in ids) and
                        [runs.get(store, i) for i in ids], timeout=settings.requeue_after_s + 40)  # a loaded machine
    assert all(r.shell_stdout.strip() == "done" for r in done)
    assert len(runs.for_job(store, job.id, 50)) == 5  # re-sent, not re-created


def test_cancel_stops_a_running_shell_run_and_its_descendants_within_two_seconds(
        app, store, redis, beat, settings, tmp_path):
    import clawsched.cli.workflow_cmd  # noqa: F401
    from clawsched.cli.context import CliContext
    from clawsched.cli.main import cli

    pids = {n: tmp_path / f"{n}.pid" for n in ("parent", "child")}
    parent = jobs.create(store, shell("parent", f"echo $$ > {pids['parent']}; sleep 60"))
    kid = jobs.create(store, {"name": "child", "session_target": "shell", "run_timeout_ms": 90_000,
                              "payload_message": f"echo $$ > {pids['child']}; sleep 60",
                              "parent_id": parent.id, "trigger_on": "success"})
    grandchild = jobs.create(store, {"name": "grandchild", "session_target": "shell", "run_timeout_ms": 1000,
                                     "payload_message": "true", "parent_id": kid.id, "trigger_on": "complete"})
    from datetime import timedelta

    from clawsched.sched.store.models import utcnow

    later = runs.enqueue(store, grandchild.id, not_before=utcnow() + timedelta(hours=1))
    try:
        with workers(app, settings, tmp_path, "busy"):
            running = [jobs.run_now(store, parent.id), jobs.run_now(store, kid.id)]
            notify(redis, settings, "test")
            wait_for(lambda: all(runs.get(store, i).status == "running" for i in running)
                     and all(p.exists() and p.read_text().strip() for p in pids.values()), timeout=20)
            procs = [int(p.read_text()) for p in pids.values()]
            started = time.monotonic()
            result = CliRunner().invoke(cli, ["jobs", "cancel", parent.id, "--json"], obj=CliContext(settings))
            assert result.exit_code == 0, result.output
            wait_for(lambda: not any(alive(p) for p in procs), timeout=5, what="the shell runs to be killed")
            stopped_after = time.monotonic() - started
            wait_for(lambda: all(runs.get(store, i).finished_at for i in running), timeout=5)
    finally:
        for p in pids.values():
            kill_pidfile(p)
    assert stopped_after < 2.0, stopped_after
    assert [runs.get(store, i).status for i in running] == ["cancelled", "cancelled"]
    assert runs.get(store, later).status == "cancelled"
    assert not any(jobs.get(store, j.id).enabled for j in (parent, kid, grandchild))
    print(f"\ncancel stopped two running shell runs in {stopped_after:.2f}s")


def test_sigterm_drains_the_worker_and_loses_nothing(app, store, redis, beat, settings, tmp_path):
    job = jobs.create(store, shell("slow", "sleep 1.5; echo drained", overlap_policy="allow"))
    with workers(app, settings, tmp_path, "leaving", concurrency=1) as (leaving,):
        first, second = jobs.run_now(store, job.id), jobs.run_now(store, job.id)
        notify(redis, settings, "test")
        in_flight = wait_for(lambda: next((i for i in (first, second) if runs.get(store, i).status == "running"),
                                          None), timeout=15)
        os.kill(leaving.proc.pid, signal.SIGTERM)  # warm shutdown: finish what runs, hand back the rest
        leaving.proc.wait(timeout=30)
        drained = runs.get(store, in_flight)
        assert drained.status == "ok" and drained.shell_stdout.strip() == "drained"
    with workers(app, settings, tmp_path, "next"):
        wait_for(lambda: all(runs.get(store, i).status == "ok" for i in (first, second)), timeout=20,
                 what="the handed-back run to finish on another worker")
    assert len(runs.for_job(store, job.id)) == 2
