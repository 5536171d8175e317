"""What a run's Celery task tells Celery, and so Flower: the job, the status and the exit code.

Flower shows a task's state from the worker's events: a task that returns is SUCCESS, one that raises is
FAILURE. So a run whose outcome is ``error``, ``timeout`` or ``crashed`` ends its task with ``RunFailed``,
raised after the outcome and the post-run pipeline are recorded, so nothing about the run depends on it.
The run task lists it in ``throws`` (Celery logs it in one line, without a traceback) and acknowledges
its message on failure (``acks_on_failure_or_timeout``); nothing retries it, because a job's retries are
runs the pipeline records, never Celery retries. Every other ending (ok, skipped, waiting, cancelled, a
duplicate message) returns a short result, e.g. ``{'job': 'nightly', 'status': 'ok', 'exit_code': 0}``.
"""

from __future__ import annotations

from typing import Any

from clawsched.sched.errors import ClawschedError
from clawsched.sched.states import RunStatus

from .execution import Ended

FAILED = frozenset({RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.CRASHED})
ERROR_CHARS = 200  # of the run's error message, in the exception Flower shows


class RunFailed(ClawschedError):
    """A run ended ``error``, ``timeout`` or ``crashed``; raised by its task so that Flower shows FAILURE."""


def report(ended: Ended) -> dict[str, Any]:
    """The run task's result: job, status and exit code, or ``RunFailed`` saying the same."""
    status, done = ended
    if done is None:  # not finished by this delivery: held, skipped, cancelled, or a duplicate message
        return {"status": status.value if status is not None else "duplicate"}
    run = done.run
    result = {"job": done.job.name if done.job is not None else run.job_id, "status": str(run.status),
              "exit_code": run.shell_exit_code}
    if run.status in FAILED:
        raise RunFailed(describe(result, run.error_message))
    return result


def describe(result: dict[str, Any], error_message: str | None) -> str:
    """``nightly: timeout, exit code -9: <first line of the error>``: no exit code for agent runs, and no
    error line when it only repeats the exit code."""
    text = f"{result['job']}: {result['status']}"
    if result["exit_code"] is not None:
        text += f", exit code {result['exit_code']}"
    first_line = next(iter((error_message or "").strip().splitlines()), "")[:ERROR_CHARS]
    if first_line and first_line not in text:
        text += f": {first_line}"
    return text
