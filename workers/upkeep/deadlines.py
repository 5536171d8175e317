"""Runs that waited past their job's ``schedule_to_start_s`` (or a scheduled fire past its
``starting_deadline_s``) without any worker starting them end ``missed``, with the reason.

The worker's deadline gate catches a late run when a worker takes it; this pass catches the run no worker
takes (its queue has no consumer, or every worker is busy), so the record says so when the time is up,
not whenever a worker comes along.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from clawsched.sched.rules import misfire
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus
from clawsched.sched.store import starting, upkeep

log = logging.getLogger(__name__)


def expire_unstarted(rt: Runtime, app: Any, now: datetime) -> int:
    expired = 0
    for job, run in upkeep.waiting_with_deadlines(rt.store):
        late = misfire.start_too_late(job, run, now)
        if late is None:
            continue
        if starting.skip(rt.store, run.id, late.text, now=now, from_status=RunStatus(run.status),
                         status=RunStatus.MISSED):
            expired += 1
            log.warning("run %s of job %s missed: %s", run.id, job.id, late.text)
    return expired
