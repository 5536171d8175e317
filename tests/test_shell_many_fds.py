"""A shell run in a process that already has more than 1024 files open: the wait on the shell's pidfd
must not depend on select()'s FD_SETSIZE (a long-lived worker, or the test process, gets such fds)."""

from __future__ import annotations

import os
import resource

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.states import RunStatus
from clawsched.workers import execution


@pytest.fixture
def runtime(settings, redis):
    from clawsched.sched.runtime import Runtime

    rt = Runtime(settings.with_(post_run="inline"))
    yield rt
    rt.close()


def test_a_shell_run_ends_ok_with_more_than_1024_files_open(store, runtime):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < 1200: cannot open enough files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if hard == resource.RLIM_INFINITY
                                                else min(max(soft, 1200), hard), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        assert max(held) >= 1024
        job = jobs.create(store, {"name": "fds", "session_target": "shell", "payload_message": "echo fine",
                                  "run_timeout_ms": 10_000, "schedule_cron": "0 0 1 1 *"})
        run_id = runs.enqueue(store, job.id, status=RunStatus.QUEUED)
        assert execution.execute_and_process(runtime, run_id) == RunStatus.OK
        assert runs.get(store, run_id).shell_stdout.strip() == "fine"
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
