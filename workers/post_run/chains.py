"""Chains as result callbacks: a run's final outcome starts each matching child job.

A failure that a retry or a crash replay will follow is not final: children wait for the last attempt,
so failure children fire once when retries are exhausted and success children on the first success.
Each child run is inserted under the unique key (``triggered_by_run``, ``job_id``), so a step run twice
creates nothing twice. Depth is enforced again here, at trigger time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.coordination.wake import notify
from clawsched.sched.rules import chains
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store import followups
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.run_rows import follow_up

log = logging.getLogger(__name__)


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return has_children and chains.outcome_matches("complete", run.status)


def trigger_children(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    if not followups.is_final(rt.store, job, run):
        return
    children = followups.children_of(rt.store, job.id)
    chosen = chains.choose_children(children, run.status, chains.parent_text(run), job.max_trigger_fanout)
    if not chosen:
        return
    context = chains.trigger_context(job, run)
    too_deep = chains.depth_refused(run.chain_depth or 0)
    created = sum(_start_child(rt, child, run, context, too_deep or undecided, now) for child, undecided in chosen)
    if created:
        notify(rt.redis, rt.settings, "chain")


def _start_child(rt: Runtime, child: Job, parent: Run, context: dict[str, Any], refused: str | None,
                 now: datetime) -> int:
    values = follow_up(child, trigger=Trigger.CHAIN, now=now, status=RunStatus.PENDING,
                       not_before=now + timedelta(seconds=child.trigger_delay_s or 0),
                       triggered_by_run=parent.id, trigger_context=context, chain_depth=(parent.chain_depth or 0) + 1)
    if not followups.insert_child(rt.store, child, values, refused=refused, now=now):
        log.info("child %s of run %s already triggered", child.id, parent.id)
        return 0
    if values["status"] == RunStatus.SKIPPED.value:
        log.warning("child job %s not started: %s", child.id, values["skip_reason"])
    log.info("run %s of job %s triggered child job %s as run %s (%s)", parent.id, parent.job_id, child.id,
             values["id"], values["status"])
    return 1
