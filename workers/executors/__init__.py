"""Executors run one run of one kind of job. ``executor_for`` picks one by the job's session target."""

from __future__ import annotations

from collections.abc import Callable

from clawsched.sched.states import SessionTarget
from clawsched.sched.store.models import Job
from clawsched.workers.executors.base import Executor

_FACTORIES: dict[str, Callable[[], Executor]] = {}


def register(target: SessionTarget | str, factory: Callable[[], Executor]) -> None:
    _FACTORIES[str(target)] = factory


def executor_for(job: Job) -> Executor:
    if not _FACTORIES:
        _register_builtin()
    factory = _FACTORIES.get(job.session_target)
    if factory is None:
        raise LookupError(f"job {job.id}: no executor for session_target {job.session_target!r}")
    return factory()


def _register_builtin() -> None:
    from clawsched.workers.executors.shell import ShellExecutor

    register(SessionTarget.SHELL, ShellExecutor)
    try:
        from clawsched.workers.executors import agent  # type: ignore[attr-defined]
    except ImportError:  # agent jobs arrive with the gateway work
        return
    agent.register_all(register)
