"""Crash replays: an ``at-least-once`` job's crashed or unconfirmed run is run again, carrying the original's
idempotency key (``replay_of`` is UNIQUE, so it is replayed once); ``at-most-once`` jobs are not."""

from __future__ import annotations

import logging
from datetime import datetime

from clawsched.sched.coordination.wake import notify
from clawsched.sched.rules import attempts, idempotency
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import MAY_HAVE_RUN, RunStatus, Trigger
from clawsched.sched.store import followups
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.run_rows import follow_up

log = logging.getLogger(__name__)


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return run.status in MAY_HAVE_RUN


def replay_crashed(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    if not attempts.will_replay(job, run, followups.earlier_replays(rt.store, run)):
        log.info("run %s of job %s %s; not replayed (%s)", run.id, job.id, run.status, job.delivery_guarantee)
        return
    values = follow_up(job, trigger=Trigger.REPLAY, now=now, status=RunStatus.PENDING, replay_of=run.id,
                       retry_count=run.retry_count, trigger_context=run.trigger_context, chain_depth=run.chain_depth,
                       idempotency_key=run.idempotency_key or idempotency.key_for(job.id, run))
    if not followups.insert_run(rt.store, values):
        return
    log.warning("%s run %s of job %s replayed as run %s (at-least-once)", run.status, run.id, job.id, values["id"])
    notify(rt.redis, rt.settings, "replay")
