"""The orphan sentinel (``workers/executors/orphans.py``) in real processes: a worker process that dies
takes exactly the shells it was waiting on, and a forked child does not keep its parent's sentinel blind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from tests.support.waiting import wait_for

# Runs in a fresh interpreter playing a worker process: starts shells in their own sessions (as the shell
# executor does), writes their pids, then is SIGKILLed by the test.
WORKER = textwrap.dedent("""
    import os, subprocess, sys, time
    from clawsched.workers.executors import orphans

    out = sys.argv[1]
    def shell(command):
        return lambda: subprocess.Popen(["sh", "-c", command], start_new_session=True)

    with orphans.guarded(shell("sleep 120")) as finished:  # its wait ends (the run is over); it runs on
        pass
    forked = os.fork()
    if forked == 0:  # a child that outlives its parent must not hide the parent's death from the sentinel
        time.sleep(120)
        os._exit(0)
    with orphans.guarded(shell("sleep 120 & exec sleep 120")) as waited:  # waited on, a child in its group
        with open(out + ".tmp", "w") as fh:
            fh.write(f"{finished.pid} {waited.pid} {forked}")
        os.rename(out + ".tmp", out)
        time.sleep(120)
""")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    out = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(out)], start_new_session=True)
    yield proc, out
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    if out.exists():
        for pid in map(int, out.read_text().split()):
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sentinel needs Linux (memfd, process groups)")
def test_a_dead_worker_process_takes_exactly_the_shells_it_was_waiting_on(worker):
    proc, out = worker
    finished, waited, forked = wait_for(lambda: out.exists() and list(map(int, out.read_text().split())),
                                        timeout=20, what="the worker's shells to start")
    waited_group = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == waited]
    assert len(waited_group) == 2, "the waited shell and its child share a group"
    assert all(alive(p) for p in (finished, *waited_group, forked))

    os.kill(proc.pid, signal.SIGKILL)  # only the worker process: its forked child lives on

    wait_for(lambda: not any(alive(p) for p in waited_group), timeout=10,
             what="the waited shell's whole group to be killed")
    assert alive(finished), "a shell whose run was over is not the sentinel's to kill"
    assert alive(forked)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sentinel needs Linux (memfd, process groups)")
def test_a_sentinel_that_died_is_replaced_before_the_next_shell(monkeypatch):
    from clawsched.workers.executors import orphans

    monkeypatch.setattr(orphans, "CHECK_EVERY_S", 0.0)
    first = orphans.sentinel()
    assert first is not None and first.alive()
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)
    second = orphans.sentinel()
    assert second is not None and second is not first and second.alive()
    assert orphans.sentinel() is second
