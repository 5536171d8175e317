"""The post-run pipeline: every step of ``steps.STEPS`` for a finished run, then the run is finalised.

It runs in the run task itself right after the outcome is recorded (``post_run="inline"``) or in the
``clawsched.finished`` callback task (``"callback"``); the reconciler re-runs it for finished runs that
were never finalised. A step that raises is logged and does not stop the others; the run is marked
finalised only when every step has succeeded.

Most runs need none of it: a shell job that succeeded, with no children, retries or delivery. Every
step says so with ``has_work``; when no step has work, the worker records the outcome and the
finalisation in one statement (``finalize_when``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from clawsched.sched.runtime import Runtime
from clawsched.sched.states import TERMINAL, RunStatus
from clawsched.sched.store import finishing
from clawsched.sched.store.finishing import Finalize
from clawsched.sched.store.models import Job, Run

from . import steps

log = logging.getLogger(__name__)


def finalize_when(job: Job, run: Run) -> Finalize:
    """For a run about to be finished as ``run``: finalised now, unless the job has children, or later."""
    without_children = not any(st.has_work(job, run, False) for st in steps.STEPS)
    with_children = not any(st.has_work(job, run, True) for st in steps.STEPS)
    if without_children and with_children:
        return Finalize.NOW
    return Finalize.UNLESS_CHILDREN if without_children else Finalize.LATER


def process(rt: Runtime, run_id: str, *, now: datetime) -> bool:
    """Run every step for a finished run; True when the run is (now or already) finalised."""
    with rt.store.read() as s:
        run = s.get(Run, run_id)
        if run is None or run.finalized_at is not None:
            return run is not None
        if RunStatus(run.status) not in TERMINAL:
            return False
        job = s.get(Job, run.job_id)
    if job is None:
        finishing.mark_finalized(rt.store, run_id, now=now)
        return True
    return run_steps(rt, job, run, now=now)


def run_steps(rt: Runtime, job: Job, run: Run, *, now: datetime) -> bool:
    """The steps for a finished run whose rows the caller holds; True when finalised."""
    ok = True
    for st in steps.STEPS:
        if not st.has_work(job, run, True):  # whether there are children is the chain step's to find out
            continue
        try:
            st.run(rt, job, run, now)
        except Exception:
            ok = False
            log.exception("post-run step %s failed for run %s of job %s", st.name, run.id, job.id)
    if ok:
        finishing.mark_finalized(rt.store, run.id, now=now)
    return ok
