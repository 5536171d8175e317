"""After a run ends: one outcome, consumed by a pipeline of steps (retries, chains, delivery, clean-up).

The pipeline runs in the run task itself right after the outcome is recorded (``post_run="inline"``)
or in the ``clawsched.finished`` callback task (``"callback"``). Celery may send a callback twice and
never sends one if the worker died at the wrong moment, so every step is idempotent (unique keys,
guarded writes) and the reconciler re-runs the pipeline for finished runs that were never finalised. A
step that raises is logged and does not stop the others; the run is marked finalised only when every
step has succeeded.

Most runs need none of it: a shell job that succeeded, with no children, retries or delivery. A step
may say so cheaply with an ``idle`` predicate; when every step is idle, the worker records the outcome
and the finalisation in one statement and skips the pipeline (``idle``). A step without a predicate
(a plugin's, by default) is never idle, so it always runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update

from clawsched.sched.runs import will_retry
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import TERMINAL, RunStatus
from clawsched.sched.store.models import RUNS, Job, Run, utcnow
from clawsched.workers import plugins

log = logging.getLogger(__name__)


Idle = Callable[[Job, Run, bool], bool]
"""``(job, finished run, the job has children) -> True`` when the step certainly has nothing to do."""


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    fn: Callable[[Runtime, Job, Run], None]
    idle: Idle | None = None


STEPS: list[Step] = []


def step(name: str, order: int, *, idle: Idle | None = None
         ) -> Callable[[Callable[[Runtime, Job, Run], None]], Callable[[Runtime, Job, Run], None]]:
    """Register a post-run step; lower ``order`` runs first. Re-registering a name replaces it."""

    def register(fn: Callable[[Runtime, Job, Run], None]) -> Callable[[Runtime, Job, Run], None]:
        STEPS[:] = [s for s in STEPS if s.name != name]
        STEPS.append(Step(name, order, fn, idle))
        STEPS.sort(key=lambda s: s.order)
        return fn

    return register


def idle(job: Job, run: Run, has_children: bool) -> bool:
    """Whether no step has anything to do for this finished run (so it can be finalised as it is recorded)."""
    plugins.load()
    return all(st.idle is not None and st.idle(job, run, has_children) for st in STEPS)


def process(rt: Runtime, run_id: str) -> bool:
    """Run every step for a finished run; True when the run is (now or already) finalised."""
    plugins.load()
    with rt.store.read() as s:
        run = s.get(Run, run_id)
        if run is None or run.finalized_at is not None:
            return run is not None
        if RunStatus(run.status) not in TERMINAL:
            return False
        job = s.get(Job, run.job_id)
    if job is None:
        return _mark_finalized(rt, run_id)
    return run_steps(rt, job, run)


def run_steps(rt: Runtime, job: Job, run: Run) -> bool:
    """The steps for a run just finished here (its rows already loaded); True when finalised."""
    plugins.load()
    ok = True
    for st in STEPS:
        try:
            st.fn(rt, job, run)
        except Exception:
            ok = False
            log.exception("post-run step %s failed for run %s of job %s", st.name, run.id, job.id)
    return _mark_finalized(rt, run.id) if ok else False


def _mark_finalized(rt: Runtime, run_id: str) -> bool:
    table = RUNS
    with rt.store.atomic() as conn:  # one guarded statement, Core: this runs once per run
        conn.execute(update(table).where(table.c.id == run_id, table.c.finalized_at.is_(None))
                     .values(finalized_at=utcnow()))
    return True


@step("delete_after_run", order=900, idle=lambda job, run, has_children: not job.delete_after_run)
def delete_after_run(rt: Runtime, job: Job, run: Run) -> None:
    """One-shot clean-up: an ``at`` job goes after its final run, a recurring one after a success."""
    if not job.delete_after_run or run.status == RunStatus.SKIPPED.value or will_retry(job, run):
        return
    if job.schedule_kind != "at" and run.status != RunStatus.OK.value:
        return
    from clawsched.sched import jobs

    try:
        jobs.delete_job(rt.store, job.id)
        log.info("job %s deleted after its run %s (delete_after_run)", job.id, run.id)
    except Exception as exc:
        if "not found" not in str(exc):
            raise
