"""``proactive.runs``, ``runs.get`` and ``approvals.*``: run history across jobs, one run, and the approval
gates of chained runs, through ``sched.runs`` and ``sched.approvals`` as the CLI's ``runs`` and
``approvals`` commands."""

from __future__ import annotations

from typing import Any

from clawsched.sched import approvals, runs
from clawsched.sched.errors import SpecError
from clawsched.sched.states import RunStatus

from ..resources.common import utc
from . import views
from .args import ApprovalDecision, ApprovalsList, ProactiveRuns, RunRef
from .base import Context, Tool


def _statuses(value: list[str] | str | None) -> list[str]:
    wanted = [value] if isinstance(value, str) else list(value or [])
    known = {s.value for s in RunStatus}
    for status in wanted:
        if status not in known:
            raise SpecError(f"status: {status!r} is not a run status; use one of {', '.join(sorted(known))}",
                            field="status")
    return wanted


def proactive_runs(ctx: Context, args: ProactiveRuns) -> dict[str, Any]:
    page = runs.search(ctx.store, job_id=args.jobId, statuses=_statuses(args.status), since=utc(args.since, "since"),
                       limit=args.limit, offset=args.offset)
    return {"runs": [views.run(r) for r in page.rows], "total": page.total, "limit": page.limit,
            "offset": page.offset}


def get_run(ctx: Context, args: RunRef) -> dict[str, Any]:
    return {"run": views.run(runs.get(ctx.store, args.runId), full=True)}


def list_approvals(ctx: Context, args: ApprovalsList) -> dict[str, Any]:
    status = None if args.status == "all" else args.status
    page = approvals.page(ctx.store, status=status, job_id=args.jobId, limit=args.limit, offset=args.offset)
    return {"approvals": [views.approval(a) for a in page.rows], "total": page.total, "limit": page.limit,
            "offset": page.offset}


def _decide(ctx: Context, args: ApprovalDecision, approve: bool) -> dict[str, Any]:
    if not args.jobId and not args.approvalId:
        raise SpecError("jobId: give jobId (its oldest pending approval) or approvalId", field="jobId")
    if approve:
        decided = approvals.approve(ctx.store, args.jobId or "", by=args.by, reason=args.reason,
                                    approval_id=args.approvalId, now=ctx.now, wake=lambda: ctx.wake("approved"))
    else:
        decided = approvals.reject(ctx.store, args.jobId or "", by=args.by, reason=args.reason,
                                   approval_id=args.approvalId, now=ctx.now)
    return {"approval": views.approval(decided), "runId": decided.run_id}


def approve(ctx: Context, args: ApprovalDecision) -> dict[str, Any]:
    return _decide(ctx, args, True)


def reject(ctx: Context, args: ApprovalDecision) -> dict[str, Any]:
    return _decide(ctx, args, False)


TOOLS = (
    Tool("proactive.runs", "Recent runs across jobs, newest first, each with its outcome; filter by jobId, "
         "status and since.", ProactiveRuns, proactive_runs),
    Tool("runs.get", "One run with every field: status, outcome, output, usage and lineage links.", RunRef,
         get_run),
    Tool("approvals.list", "Approval gates (pending unless status says otherwise), newest first.", ApprovalsList,
         list_approvals),
    Tool("approvals.approve", "Approve a job's oldest pending approval (or approvalId); its run starts now.",
         ApprovalDecision, approve),
    Tool("approvals.reject", "Reject a job's oldest pending approval (or approvalId); its run ends rejected.",
         ApprovalDecision, reject),
)
