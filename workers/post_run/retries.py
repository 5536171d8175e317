"""Retries: a failed run with retries left gets a new ``pending`` run, due after the retry ladder.

The retry is a run row (``retry_of``, ``retry_count + 1``, a not-before instant), so it survives a
restart of every process; the beat dispatches it when due. ``retry_of`` is UNIQUE: a replayed step
creates nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from clawsched.sched.coordination.wake import notify
from clawsched.sched.rules import attempts, schedules
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store import followups
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.run_rows import follow_up

log = logging.getLogger(__name__)


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return bool(job.enabled) and attempts.will_retry(job, run)


def schedule_retry(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    attempt = (run.retry_count or 0) + 1
    due = (run.finished_at or now) + schedules.retry_delay(attempt, rt.settings.retry_scale)
    values = follow_up(job, trigger=Trigger.RETRY, now=now, status=RunStatus.PENDING, not_before=due,
                       retry_of=run.id, retry_count=attempt, trigger_context=run.trigger_context,
                       chain_depth=run.chain_depth)
    if not followups.insert_run(rt.store, values):
        log.info("retry of run %s (job %s) already exists", run.id, job.id)
        return
    log.info("run %s of job %s failed (%s); retry %d/%d as run %s at %s", run.id, job.id, run.status, attempt,
             job.max_retries, values["id"], due.isoformat())
    notify(rt.redis, rt.settings, "retry")
