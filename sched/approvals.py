"""Approval gates: a chain-triggered run of an ``approval_required`` job waits for a person.

The run waits as ``awaiting_approval`` beside one ``approvals`` row. Approving moves the run to
``pending`` with a not-before of now (the caller wakes the beat, so it starts within milliseconds);
rejecting moves it to ``rejected`` with the reason. A pending approval past its ``expires_at`` is
resolved by the job's ``approval_auto`` by a maintenance pass. Every resolution records who, when and
why, and each is a guarded UPDATE on both rows (``pending`` / ``awaiting_approval``), so two operators
or two beats resolve an approval once. Nothing is left pending after a rejection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clawsched.sched.errors import Conflict, NotFound
from clawsched.sched.paging import Page
from clawsched.sched.paging import page as paging_page
from clawsched.sched.states import ApprovalStatus, RunStatus
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Approval, Job, Run, new_id, row_dict, run_has_status, utcnow

log = logging.getLogger(__name__)

TIMEOUT_ACTOR = "timeout"


def expires_at(requested_at: datetime, timeout_s: int) -> datetime:
    """Pure: when an approval requested at ``requested_at`` times out."""
    return requested_at + timedelta(seconds=timeout_s)


def timed_out(approval: Any, now: datetime) -> bool:
    """Pure: whether a pending approval is past its deadline."""
    return approval.status == ApprovalStatus.PENDING.value and approval.expires_at is not None \
        and approval.expires_at <= now


def pending_count(s: Session, job_id: str) -> int:
    return int(s.scalar(
        select(func.count()).select_from(Approval)
        .where(Approval.job_id == job_id, Approval.status == ApprovalStatus.PENDING.value)
    ) or 0)


def request(s: Session, job: Job, run_id: str, now: datetime) -> Approval:
    """Open the approval for a run just created as ``awaiting_approval`` (same transaction)."""
    approval = Approval(id=new_id(), job_id=job.id, run_id=run_id, status=ApprovalStatus.PENDING.value,
                        requested_at=now, expires_at=expires_at(now, job.approval_timeout_s))
    s.add(approval)
    return approval


def approve(store: Store, job_id: str, *, by: str = "operator", reason: str | None = None,
            approval_id: str | None = None, now: datetime | None = None,
            wake: Callable[[], object] | None = None) -> Approval:
    """Approve the job's oldest pending approval (or ``approval_id``); its run becomes due now."""
    approval = _resolve(store, job_id, approval_id, ApprovalStatus.APPROVED, by, reason, now or utcnow())
    if wake is not None:
        wake()
    return approval


def reject(store: Store, job_id: str, *, by: str = "operator", reason: str | None = None,
           approval_id: str | None = None, now: datetime | None = None) -> Approval:
    """Reject the job's oldest pending approval (or ``approval_id``); its run ends ``rejected``."""
    return _resolve(store, job_id, approval_id, ApprovalStatus.REJECTED, by, reason, now or utcnow())


def _resolve(store: Store, job_id: str | None, approval_id: str | None, outcome: ApprovalStatus, by: str,
             reason: str | None, now: datetime) -> Approval:
    with store.session() as s:
        approval = _pending(s, job_id, approval_id)
        settle(s, approval, outcome, by=by, reason=reason, now=now)
        return approval


def _pending(s: Session, job_id: str | None, approval_id: str | None) -> Approval:
    if approval_id:
        approval = s.get(Approval, approval_id)
        if approval is None:
            raise NotFound(f"approval {approval_id!r} not found; see `clawsched approvals list`")
        if approval.status != ApprovalStatus.PENDING.value:
            raise Conflict(f"approval {approval_id} is already {approval.status} "
                           f"(by {approval.resolved_by} at {approval.resolved_at})")
        return approval
    if s.get(Job, job_id) is None:
        raise NotFound(f"job {job_id!r} not found; list jobs with `clawsched jobs list`")
    approval = s.scalars(
        select(Approval).where(Approval.job_id == job_id, Approval.status == ApprovalStatus.PENDING.value)
        .order_by(Approval.requested_at, Approval.id).limit(1)
    ).first()
    if approval is None:
        raise Conflict(f"job {job_id} has no pending approval; see `clawsched approvals list`")
    return approval


def settle(s: Session, approval: Approval, outcome: ApprovalStatus, *, by: str, reason: str | None,
           now: datetime) -> bool:
    """Resolve one pending approval and move its run, both guarded; False if someone else got there first."""
    moved = s.execute(
        update(Approval).where(Approval.id == approval.id, Approval.status == ApprovalStatus.PENDING.value)
        .values(status=outcome.value, resolved_at=now, resolved_by=by, reason=reason)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"approval {approval.id} was resolved by someone else just now")
    waiting = (Run.id == approval.run_id, run_has_status(RunStatus.AWAITING_APPROVAL.value))
    if outcome == ApprovalStatus.APPROVED:
        s.execute(update(Run).where(*waiting).values(
            status=RunStatus.PENDING.value, not_before=now, summary=f"approved by {by}" + (f": {reason}" if reason
                                                                                         else "")))
    else:
        why = reason or ("approval timed out" if outcome == ApprovalStatus.EXPIRED else "rejected")
        s.execute(update(Run).where(*waiting).values(
            status=RunStatus.REJECTED.value, finished_at=now, duration_ms=0,
            error_message=f"{outcome.value} by {by}: {why}", summary=f"{outcome.value}: {why}"))
    s.refresh(approval)
    log.info("approval %s of job %s (run %s) %s by %s", approval.id, approval.job_id, approval.run_id,
             outcome.value, by)
    return True


def expire_due(store: Store, now: datetime | None = None, limit: int = 200) -> list[Approval]:
    """Resolve pending approvals past their deadline by their job's ``approval_auto``.

    Safe on several beats at once: a second resolver finds the row no longer pending and moves on.
    """
    now = now or utcnow()
    done: list[Approval] = []
    with store.read() as s:
        due = list(s.execute(
            select(Approval.id, Job.approval_auto).join(Job, Job.id == Approval.job_id)
            .where(Approval.status == ApprovalStatus.PENDING.value, Approval.expires_at <= now)
            .order_by(Approval.expires_at).limit(limit)
        ).all())
    for approval_id, auto in due:
        outcome = ApprovalStatus.APPROVED if auto == "approve" else ApprovalStatus.EXPIRED
        try:
            with store.session() as s:
                approval = s.get(Approval, approval_id)
                if approval is None:
                    continue
                settle(s, approval, outcome, by=TIMEOUT_ACTOR,
                       reason=f"no decision within the approval timeout; approval_auto={auto}", now=now)
                done.append(approval)
        except Conflict:
            continue
    return done


def list_approvals(store: Store, *, status: str | None = ApprovalStatus.PENDING.value,
                   job_id: str | None = None, limit: int = 100) -> list[Approval]:
    with store.read() as s:
        q = select(Approval).order_by(Approval.requested_at.desc(), Approval.id).limit(limit)
        if status:
            q = q.where(Approval.status == status)
        if job_id:
            q = q.where(Approval.job_id == job_id)
        return list(s.scalars(q))


def get(store: Store, approval_id: str) -> Approval:
    return store.fetch(Approval, approval_id, f"approval {approval_id!r} not found; see `clawsched approvals list`")


def as_dict(approval: Approval) -> dict[str, Any]:
    return row_dict(approval, Approval)


def page(store: Store, *, status: str | None = None, job_id: str | None = None, limit: int = 50,
         offset: int = 0) -> Page[Approval]:
    """One page of approvals (newest first), of one status and one job when given, with the total."""
    q = select(Approval).order_by(Approval.requested_at.desc(), Approval.id)
    if status:
        q = q.where(Approval.status == status)
    if job_id:
        q = q.where(Approval.job_id == job_id)
    return paging_page(store, q, limit=limit, offset=offset)
