"""Runs that follow a finished one: retries, crash replays, chain children, and waiters released.

Each follow-up is inserted under a unique key (``retry_of``, ``replay_of``, ``(triggered_by_run,
job_id)``), so a post-run step that runs twice creates nothing twice: ``False`` says it exists already.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from clawsched.sched import approvals
from clawsched.sched.rules import attempts
from clawsched.sched.rules.limits import limits_for
from clawsched.sched.states import MAY_HAVE_RUN, TERMINAL, RunStatus

from .engine import Store
from .finishing import replays_before
from .models import JOBS, Job, Run
from .pools import members


def insert_run(store: Store, values: dict[str, Any]) -> bool:
    """Insert one follow-up run; False when its unique key says it was created before."""
    try:
        with store.session() as s:
            s.execute(insert(Run), [values])
    except IntegrityError:
        return False
    return True


def insert_child(store: Store, child: Job, values: dict[str, Any], *, refused: str | None, now: datetime) -> bool:
    """Insert a chain child run: pending, awaiting approval (with its approval row), or skipped with the
    reason (depth, approval backlog) — never lost silently. Updates ``values["status"]`` to what was written."""
    try:
        with store.session() as s:
            if refused is None and child.approval_required:
                if approvals.pending_count(s, child.id) >= child.max_pending_approvals:
                    refused = f"approval backlog limit reached ({child.max_pending_approvals} pending)"
                else:
                    values["status"] = RunStatus.AWAITING_APPROVAL.value
            if refused is not None:
                values.update(status=RunStatus.SKIPPED.value, skip_reason=refused, summary=f"skipped: {refused}",
                              finished_at=now, duration_ms=0)
            s.execute(insert(Run), [values])
            if values["status"] == RunStatus.AWAITING_APPROVAL.value:
                approvals.request(s, child, str(values["id"]), now)
    except IntegrityError:
        return False
    return True


def children_of(store: Store, job_id: str) -> list[Job]:
    with store.read() as s:
        return list(s.scalars(select(Job).where(Job.parent_id == job_id).order_by(Job.created_at, Job.id)))


def earlier_replays(store: Store, run: Run) -> int:
    """How many crash replays led to ``run`` (0 for an original run)."""
    with store.read() as s:
        return replays_before(s, run)


def is_final(store: Store, job: Job, run: Run) -> bool:
    """A terminal outcome after which nothing else will be attempted for this fire (no retry, no replay)."""
    if RunStatus(run.status) not in TERMINAL or attempts.will_retry(job, run):
        return False
    if RunStatus(run.status) not in MAY_HAVE_RUN:
        return True
    return not attempts.will_replay(job, run, earlier_replays(store, run))


def sharing_slots(store: Store, job: Job) -> list[str]:
    """The job and every job that shares a resource pool or a concurrency key with it."""
    groups = limits_for(job)
    if not groups:
        return [job.id]
    with store.read() as s:
        found = {job.id}
        for group in groups:
            found.update(s.scalars(select(JOBS.c.id).where(members(group.kind)), {"b_key": group.key}))
        return sorted(found)


def release_waiters(store: Store, job_ids: Iterable[str], *, now: datetime) -> int:
    """Make runs waiting on these jobs (or their pool) due now; returns how many."""
    ids = list(job_ids)
    if not ids:
        return 0
    with store.session() as s:
        result = s.execute(
            update(Run).where(Run.job_id.in_(ids), Run.status == RunStatus.PENDING.value,
                              Run.skip_reason.is_not(None), Run.not_before > now)
            .values(not_before=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
