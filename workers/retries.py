"""Retries: a failed run with retries left gets a new ``pending`` run, due after the retry ladder.

The retry is a run row (``retry_of``, ``retry_count + 1``, a not-before instant), so it survives a
restart of every process; the beat dispatches it when due. ``retry_of`` is UNIQUE: a replayed callback
creates nothing twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from clawsched.sched import runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.rules import schedules
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store.models import Job, Run, utcnow
from clawsched.workers.pipeline import step

log = logging.getLogger(__name__)


@step("retries", order=100, idle=lambda job, run, has_children: not runs.will_retry(job, run) or not job.enabled)
def schedule_retry(rt: Runtime, job: Job, run: Run) -> None:
    if not runs.will_retry(job, run) or not job.enabled:
        return
    attempt = (run.retry_count or 0) + 1
    finished = run.finished_at or utcnow()
    due = finished + schedules.retry_delay(attempt, rt.settings.retry_scale)
    values = runs.new_run(
        job, trigger=Trigger.RETRY, now=utcnow(), status=RunStatus.PENDING, not_before=due,
        retry_of=run.id, retry_count=attempt, trigger_context=run.trigger_context, chain_depth=run.chain_depth,
    )
    try:
        with rt.store.session() as s:
            s.execute(insert(Run), [values])
    except IntegrityError:
        log.info("retry of run %s (job %s) already exists", run.id, job.id)
        return
    log.info("run %s of job %s failed (%s); retry %d/%d as run %s at %s", run.id, job.id, run.status, attempt,
             job.max_retries, values["id"], due.isoformat())
    notify(rt.redis, rt.settings, "retry")
