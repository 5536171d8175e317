"""``/v1/approvals``: what waits for a person, and deciding it, through ``clawsched.sched.approvals`` as
``clawsched approvals ...`` and ``clawsched jobs approve|reject`` do."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query
from pydantic import BaseModel, Field

from clawsched.sched import approvals as svc
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import ApprovalStatus

from . import models
from .common import Limit, Offset, RuntimeDep, StoreDep, resource_router, wake

router = resource_router("/v1/approvals", "approvals")


class Decision(BaseModel):
    by: str = Field(default="api", min_length=1, max_length=256, description="Who decides (recorded on the approval).")
    reason: str | None = Field(default=None, max_length=10_000, description="Why (recorded; a rejected run shows it).")


DecisionBody = Annotated[Decision | None, Body(description="Who decides and why; both optional.")]


@router.get("", response_model=models.ApprovalList, summary="Approvals, newest first, by status and job")
def list_approvals(store: StoreDep, status: Annotated[ApprovalStatus | None, Query(
                       description="Only approvals in this status (`pending`: what waits for a person).")] = None,
                   job: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = 50,
                   offset: Offset = 0) -> dict[str, Any]:
    found = svc.page(store, status=status, job_id=job, limit=limit, offset=offset)
    return {"ok": True, "approvals": [svc.as_dict(a) for a in found.rows], "total": found.total,
            "limit": found.limit, "offset": found.offset}


@router.get("/{approval_id}", response_model=models.ApprovalOut, summary="One approval",
            responses=models.errors(404))
def get_approval(store: StoreDep, approval_id: str) -> dict[str, Any]:
    return {"ok": True, "approval": svc.as_dict(svc.get(store, approval_id))}


def _decide(rt: Runtime, approval_id: str, decision: Decision | None, approve: bool) -> dict[str, Any]:
    decision = decision or Decision()
    job_id = svc.get(rt.store, approval_id).job_id
    if approve:
        approval = svc.approve(rt.store, job_id, by=decision.by, reason=decision.reason, approval_id=approval_id,
                               wake=lambda: wake(rt, "approved"))
    else:
        approval = svc.reject(rt.store, job_id, by=decision.by, reason=decision.reason, approval_id=approval_id)
    return {"ok": True, "approval": svc.as_dict(approval)}


@router.post("/{approval_id}/approve", response_model=models.ApprovalOut, responses=models.errors(404, 409, body=True),
             summary="Approve: the waiting run starts at once")
def approve(rt: RuntimeDep, approval_id: str, decision: DecisionBody = None) -> dict[str, Any]:
    return _decide(rt, approval_id, decision, approve=True)


@router.post("/{approval_id}/reject", response_model=models.ApprovalOut, responses=models.errors(404, 409, body=True),
             summary="Reject: the waiting run ends `rejected` with the reason")
def reject(rt: RuntimeDep, approval_id: str, decision: DecisionBody = None) -> dict[str, Any]:
    return _decide(rt, approval_id, decision, approve=False)
