"""Which executor runs a job: a watchdog job's check (``job_type``), else one per session target."""

from __future__ import annotations

from clawsched.sched.states import SessionTarget
from clawsched.sched.store.models import Job

from .agent import ChatExecutor, MainExecutor
from .base import Executor
from .shell import ShellExecutor
from .watchdog import WatchdogExecutor

#: Job types whose runs are not their session target's: the peer picks the watchdog strategy first.
JOB_TYPES: dict[str, type[Executor]] = {
    "watchdog": WatchdogExecutor,
}

EXECUTORS: dict[str, type[Executor]] = {
    SessionTarget.SHELL.value: ShellExecutor,
    SessionTarget.ISOLATED.value: ChatExecutor,
    SessionTarget.SESSION.value: ChatExecutor,
    SessionTarget.MAIN.value: MainExecutor,
}


def executor_for(job: Job) -> Executor:
    factory = JOB_TYPES.get(job.job_type) or EXECUTORS.get(job.session_target)
    if factory is None:
        raise LookupError(f"job {job.id}: no executor for session_target {job.session_target!r}")
    return factory()
