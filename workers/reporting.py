"""What a run's Celery task tells Celery, and so Flower: the job, the status and the exit code.

Flower shows a task's state from the worker's events: a task that returns is SUCCESS, one that raises is
FAILURE. So a run whose outcome is a failure (``states.FAILED``: ``error``, ``timeout``, ``crashed``,
``unconfirmed``) ends its task with ``RunFailed``,
raised after the outcome and the post-run pipeline are recorded, so nothing about the run depends on it.
The run task lists it in ``throws`` (Celery logs it in one line, without a traceback) and acknowledges
its message on failure (``acks_on_failure_or_timeout``); nothing retries it, because a job's retries are
runs the pipeline records, never Celery retries. Every other ending (ok, skipped, waiting, cancelled, a
duplicate message) returns a short string, e.g. ``'nightly: ok, exit code 0'``: Celery reprs a task's
result for every run's event, and a string costs it what the run id it replaced did (a dict, 6x more).
"""

from __future__ import annotations

from clawsched.sched.errors import ClawschedError
from clawsched.sched.states import FAILED

from .execution import Ended

ERROR_CHARS = 200  # of the run's error message, in the exception Flower shows


class RunFailed(ClawschedError):
    """A run ended failed (``states.FAILED``); raised by its task so that Flower shows FAILURE."""


def report(ended: Ended) -> str:
    """The run task's result, ``nightly: ok, exit code 0``, or ``RunFailed`` saying the same of a failure."""
    status, done = ended
    if done is None:  # not finished by this delivery: held, skipped, cancelled, or a duplicate message
        return status.value if status is not None else "duplicate"
    run = done.run
    text = describe(done.job.name if done.job is not None else run.job_id, str(run.status), run.shell_exit_code,
                    run.error_message)
    if run.status in FAILED:
        raise RunFailed(text)
    return text


def describe(job: str, status: str, exit_code: int | None, error_message: str | None) -> str:
    """``nightly: timeout, exit code -9: <first line of the error>``: no exit code for agent runs, and no
    error line when it only repeats the exit code."""
    text = f"{job}: {status}"
    if exit_code is not None:
        text += f", exit code {exit_code}"
    first_line = next(iter((error_message or "").strip().splitlines()), "")[:ERROR_CHARS]
    if first_line and first_line not in text:
        text += f": {first_line}"
    return text
