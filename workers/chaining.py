"""Chains as result callbacks: a run's final outcome starts each matching child job.

Runs in the post-run pipeline (the ``clawsched.finished`` link callback, or the reconciler). A
failure that a retry or a crash replay will follow is not final: children wait for the last attempt,
so failure children fire once when retries are exhausted and success children on the first success.
Each child run is inserted under the unique key (``triggered_by_run``, ``job_id``), so a callback
delivered twice creates nothing twice. Depth is enforced again here, at trigger time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clawsched.sched import approvals, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.rules import chains
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus, Trigger
from clawsched.sched.store.models import Job, Run, utcnow
from clawsched.workers.pipeline import step

log = logging.getLogger(__name__)


@step("chains", order=200,
      idle=lambda job, run, has_children: not has_children or not chains.outcome_matches("complete", run.status))
def trigger_children(rt: Runtime, job: Job, run: Run) -> None:
    if not chains.outcome_matches("complete", run.status) or not runs.is_final(rt.store, job, run):
        return
    with rt.store.read() as s:
        children = list(s.scalars(select(Job).where(Job.parent_id == job.id).order_by(Job.created_at, Job.id)))
    chosen = chains.select_children(children, run.status, chains.parent_text(run), job.max_trigger_fanout)
    if not chosen:
        return
    context = chains.trigger_context(job, run)
    refused = chains.depth_refused(run.chain_depth or 0)
    created = 0
    for child in chosen:
        created += _start_child(rt, child, run, context, refused)
    if created:
        notify(rt.redis, rt.settings, "chain")


def _start_child(rt: Runtime, child: Job, parent: Run, context: dict[str, Any], refused: str | None) -> int:
    now = utcnow()
    values = runs.new_run(
        child, trigger=Trigger.CHAIN, now=now, status=RunStatus.PENDING,
        not_before=now + timedelta(seconds=child.trigger_delay_s or 0),
        triggered_by_run=parent.id, trigger_context=context, chain_depth=(parent.chain_depth or 0) + 1,
    )
    try:
        with rt.store.session() as s:
            status = _gate(s, child, values, refused, now)
            s.execute(insert(Run), [values])
            if status == RunStatus.AWAITING_APPROVAL:
                approvals.request(s, child, str(values["id"]), now)
    except IntegrityError:
        log.info("child %s of run %s already triggered", child.id, parent.id)
        return 0
    log.info("run %s of job %s triggered child job %s as run %s (%s)", parent.id, parent.job_id, child.id,
             values["id"], values["status"])
    return 1


def _gate(s: Session, child: Job, values: dict[str, Any], refused: str | None, now: datetime) -> RunStatus:
    """Pending, awaiting approval, or skipped with the reason (depth, approval backlog): never lost silently."""
    if refused is None and child.approval_required:
        if approvals.pending_count(s, child.id) >= child.max_pending_approvals:
            refused = f"approval backlog limit reached ({child.max_pending_approvals} pending)"
        else:
            values["status"] = RunStatus.AWAITING_APPROVAL.value
            return RunStatus.AWAITING_APPROVAL
    if refused is not None:
        values.update(status=RunStatus.SKIPPED.value, skip_reason=refused, summary=f"skipped: {refused}",
                      finished_at=now, duration_ms=0)
        log.warning("child job %s not started: %s", child.id, refused)
        return RunStatus.SKIPPED
    return RunStatus.PENDING
