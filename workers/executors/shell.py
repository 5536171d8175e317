"""Shell jobs: the payload runs in the configured shell, in its own process group, with a hard timeout.

The whole group is signalled on timeout or cancel (SIGTERM, then SIGKILL after a grace), so a job that
forks helpers leaves none behind, and it is SIGKILLed if the worker process dies first (``orphans``).
stdout and stderr go straight to files, never through this process's memory, which keeps a chatty job
from hurting the worker.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import signal
import subprocess
import time
from pathlib import Path

from clawsched.sched import output
from clawsched.sched.outcomes import Outcome
from clawsched.sched.states import RunStatus
from clawsched.workers.executors import orphans
from clawsched.workers.executors.base import ExecutionContext, Executor

log = logging.getLogger(__name__)

KILL_GRACE_S = 2.0
POLL_S = 0.1  # how often a waiting executor looks at its cancel event


class ShellExecutor(Executor):
    def execute(self, ctx: ExecutionContext) -> Outcome:
        job, run = ctx.job, ctx.run
        folder = ctx.settings.artifacts / run.id[:2]
        paths = folder / f"{run.id}.stdout", folder / f"{run.id}.stderr"
        out, err = (_create(path) for path in paths)
        try:
            with orphans.guarded(lambda: subprocess.Popen(
                [ctx.settings.shell, "-c", job.payload_message],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, env=_environment(ctx), cwd=job.cwd or None,
            )) as proc:
                timed_out, cancelled = _wait(proc, ctx)
            return _outcome(ctx, proc.returncode, timed_out, cancelled, (out, err), paths)
        finally:
            os.close(out)
            os.close(err)


def _create(path: Path) -> int:
    """A new stream file for the run, open for the shell to write and for ``output.capture`` to read.

    Plain ``os.open`` (the folder made only when missing): a run's two stream files cost ~120 us of CPU
    through ``Path.open``, ``mkdir(exist_ok=True)`` and stat-by-name, about 40 us this way.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o666)


#: What a shell job gets of the worker's environment. Never the rest: the worker holds the gateway and
#: hooks tokens, the API token and database URLs, and a job that prints ``env`` would store them in its
#: output, which runs, chain children and deliveries pass on. More with ``CLAWSCHED_SHELL_PASS_ENV``.
PASSED_ENV = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR"})
PASSED_PREFIXES = ("LC_",)


@functools.lru_cache(maxsize=8)
def _passed_from_worker(also: tuple[str, ...]) -> dict[str, str]:
    """The allow-listed part of the worker's environment, read once per process and pass list: a
    worker does not change its own environment while it runs, and reading ``os.environ`` whole (it
    decodes every name and value) cost ~60 us a run."""
    passed = PASSED_ENV | set(also)
    return {k: v for k, v in os.environ.items() if k in passed or k.startswith(PASSED_PREFIXES)}


def _environment(ctx: ExecutionContext) -> dict[str, str]:
    env = dict(_passed_from_worker(ctx.settings.shell_pass_env))
    env.update({str(k): str(v) for k, v in (ctx.job.env or {}).items()})
    env.update({
        "CLAWSCHED_JOB_ID": ctx.job.id,
        "CLAWSCHED_JOB_NAME": ctx.job.name,
        "CLAWSCHED_RUN_ID": ctx.run.id,
        "CLAWSCHED_RETRY_COUNT": str(ctx.run.retry_count or 0),
    })
    for key, value in (ctx.run.trigger_context or {}).items():
        if value is not None:
            env[f"CLAWSCHED_PARENT_{key.upper()}"] = str(value)
    return env


def _wait(proc: subprocess.Popen[bytes], ctx: ExecutionContext) -> tuple[bool, bool]:
    """Wait for the shell, its deadline or a cancel, whichever comes first; returns (timed_out, cancelled).

    On Linux the wait is on a pidfd, so a 5 ms job is noticed the moment it exits (``Popen.wait``'s
    timeout loop sleeps in growing steps and overshoots short jobs by several ms).
    """
    deadline = time.monotonic() + ctx.timeout_s
    pidfd = _pidfd(proc.pid)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(proc)
                return True, False
            if ctx.cancelled.is_set():
                _kill_group(proc, grace=0.0 if ctx.kill_at_once() else KILL_GRACE_S)
                return False, True
            if _exited(proc, pidfd, min(POLL_S, remaining)):
                # The shell is gone; its group may not be. Leave nothing running past the run.
                _kill_group(proc, grace=0.5)
                return False, False
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    except OSError:
        return None


def _exited(proc: subprocess.Popen[bytes], pidfd: int | None, timeout: float) -> bool:
    if pidfd is not None:
        # poll, not select: a worker with 1024 files open gets pidfds past select's FD_SETSIZE
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            return False
        proc.wait()
        return True
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _kill_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_S) -> None:
    """SIGTERM the run's whole process group, then SIGKILL whatever is left after ``grace`` (no grace:
    SIGKILL at once, so nothing of the run gets to act on a SIGTERM)."""
    pgid = proc.pid  # start_new_session made the shell the leader of its own group
    if not _group_alive(pgid):
        return
    if grace > 0:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_alive(pgid) and time.monotonic() < deadline:
        if proc.poll() is None:
            try:
                proc.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                pass
        else:
            time.sleep(POLL_S)  # grandchildren are not ours to wait on; poll the group instead
    if _group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        log.error("process %s survived SIGKILL", proc.pid)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _outcome(ctx: ExecutionContext, code: int | None, timed_out: bool, cancelled: bool,
             fds: tuple[int, int], paths: tuple[Path, Path]) -> Outcome:
    job = ctx.job
    limits = {"store_limit": job.output_store_limit_bytes, "offload_threshold": job.output_offload_threshold_bytes}
    out, err = (output.capture(fd, path, **limits) for fd, path in zip(fds, paths, strict=True))
    if ctx.settings.output_store == "database":  # readable from every host, not only this one
        for stream, fd, captured in zip(output.STREAMS, fds, (out, err), strict=True):
            output.offload(ctx.store, ctx.run.id, stream, fd, captured)
    signame = signal.Signals(-code).name if code is not None and code < 0 else None
    if timed_out:
        status, message = RunStatus.TIMEOUT, f"timed out after {ctx.timeout_s:g}s; process group killed"
    elif cancelled:
        status, message = RunStatus.CANCELLED, "cancelled"
    elif code == 0:
        status, message = RunStatus.OK, None
    else:
        status = RunStatus.ERROR
        message = f"killed by {signame}" if signame else f"exit code {code}"
    summary = output.tail(out.text, job.output_summary_limit_bytes)
    summary = summary or output.tail(err.text, job.output_excerpt_limit_bytes)
    shell = {
        "shell_exit_code": code if code is not None and code >= 0 else None,
        "shell_signal": signame,
        "shell_timed_out": timed_out,
        "shell_stdout": out.text, "shell_stderr": err.text,
        "shell_stdout_path": out.path, "shell_stderr_path": err.path,
        "shell_stdout_bytes": out.size, "shell_stderr_bytes": err.size,
    }
    return Outcome(status, summary=summary or None, error_message=message, shell=shell)
