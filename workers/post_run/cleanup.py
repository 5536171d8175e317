"""One-shot clean-up (``delete_after_run``): an ``at`` job goes after its final run, a recurring one
after a success. A skipped run, or a failure that a retry will follow, is not the end."""

from __future__ import annotations

import logging
from datetime import datetime

from clawsched.sched import jobs
from clawsched.sched.audit import SCHEDULER
from clawsched.sched.errors import NotFound
from clawsched.sched.rules import attempts
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus, ScheduleKind
from clawsched.sched.store.models import Job, Run

log = logging.getLogger(__name__)


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    if (not job.delete_after_run or run.status in (RunStatus.SKIPPED.value, RunStatus.MISSED.value)
            or attempts.will_retry(job, run)):
        return False
    return job.schedule_kind == ScheduleKind.AT.value or run.status == RunStatus.OK.value


def delete_after_run(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    try:
        jobs.delete_job(rt.store, job.id, actor=SCHEDULER, now=now)
    except NotFound:
        return  # deleted already (a step run twice, or by hand)
    log.info("job %s deleted after its run %s (delete_after_run)", job.id, run.id)
