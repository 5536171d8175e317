"""The executor port: what every executor guarantees to the worker that calls it."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from clawsched.sched.outcomes import Outcome
from clawsched.sched.settings import Settings
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Job, Run


@dataclass
class ExecutionContext:
    settings: Settings
    store: Store
    job: Job
    run: Run
    cancelled: threading.Event
    #: once ``cancelled`` is set: whether to kill at once, without the SIGTERM grace (``terminate_other``)
    kill_at_once: Callable[[], bool] = field(default=lambda: False)

    @property
    def timeout_s(self) -> float:
        return (self.run.run_timeout_ms or self.job.run_timeout_ms or 300_000) / 1000


class Executor(ABC):
    """Runs one run and reports its outcome.

    ``execute`` returns an ``Outcome`` for every result a job can have, failures included; it raises only
    for bugs. It must end by ``ctx.timeout_s`` (plus a short kill grace) with status ``timeout``, and when
    ``ctx.cancelled`` is set it must stop promptly (killing whatever it started) and return status
    ``cancelled``. It never writes the run row itself: the worker does, in one guarded UPDATE.
    Output text it returns must already be bounded by the job's output limits.
    """

    @abstractmethod
    def execute(self, ctx: ExecutionContext) -> Outcome: ...
