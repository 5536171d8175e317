"""The post-run step port: what every step guarantees to the pipeline that calls it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from clawsched.sched.runtime import Runtime
from clawsched.sched.store.models import Job, Run

HasWork = Callable[[Job, Run, bool], bool]
"""``(job, finished run, the job has children) -> whether the step has anything to do``. Pure and cheap:
the worker asks it of every step before it writes a run's outcome, to finalise in the same statement a
run that no step has work for."""

Action = Callable[[Runtime, Job, Run, datetime], None]
"""Does the step's work for a finished run, ``now`` being the pipeline's instant. Called only where
``has_work`` said so. Idempotent (unique keys, guarded writes): Celery may deliver a callback twice and
the reconciler re-runs the pipeline of runs never finalised. It may raise; the pipeline logs it, goes
on with the other steps, and leaves the run unfinalised so the reconciler tries again."""


@dataclass(frozen=True)
class Step:
    name: str
    has_work: HasWork
    run: Action
