"""``clawsched approvals ...``: what waits for a person, and who decided what.

Deciding an approval is a verb on its job: ``jobs approve`` and ``jobs reject`` (in jobs_cmd)."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show, table


@click.group("approvals")
def approvals() -> None:
    """Approval gates: what waits for a person, and who decided what."""


@command(approvals, "list")
@click.option("--all", "show_all", is_flag=True, help="Also resolved approvals (default: pending only).")
@click.option("--job", "job_id", help="Only this job's approvals.")
def approvals_list(obj: CliContext, as_json: bool, show_all: bool, job_id: str | None) -> None:
    """Pending approvals (newest first)."""
    from clawsched.sched import approvals as svc
    from clawsched.sched import jobs

    job_id = obj.resolve_opt("job", job_id)
    if job_id is not None:
        jobs.get(obj.store, job_id)  # a clear error for an unknown job, not an empty list
    items = svc.list_approvals(obj.store, status=None if show_all else "pending", job_id=job_id)
    if as_json:
        emit_json([svc.as_dict(a) for a in items])
        return
    names = jobs.names(obj.store, (a.job_id for a in items))
    table([(a.id[:12], a.job_id[:12], names.get(a.job_id, "(deleted)"), a.run_id[:12], a.status, a.requested_at,
            a.expires_at, a.resolved_by, a.reason) for a in items],
          ["id", "job", "name", "run", "status", "requested", "expires", "by", "reason"])


@command(approvals, "pending")
@click.option("--job", "job_id", help="Only this job's approvals.")
def approvals_pending(obj: CliContext, as_json: bool, job_id: str | None) -> None:
    """Pending approvals with their job's name (openclaw-scheduler's `approvals pending`)."""
    from clawsched.sched import approvals as svc
    from clawsched.sched import jobs

    job_id = obj.resolve_opt("job", job_id)
    if job_id is not None:
        jobs.get(obj.store, job_id)  # a clear error for an unknown job, not an empty list
    items = svc.list_approvals(obj.store, status="pending", job_id=job_id)
    names = jobs.names(obj.store, (a.job_id for a in items))
    if as_json:
        emit_json([{**svc.as_dict(a), "job_name": names[a.job_id]} for a in items])
        return
    table([(a.id[:12], a.job_id[:12], names[a.job_id], a.run_id[:12], a.requested_at, a.expires_at) for a in items],
          ["id", "job", "name", "run", "requested", "expires"])


@command(approvals, "get")
@click.argument("approval_id")
def approvals_get(obj: CliContext, as_json: bool, approval_id: str) -> None:
    """Every field of one approval (APPROVAL_ID or a unique prefix), as `key: value` lines or JSON."""
    from clawsched.sched import approvals as svc

    show(as_json, svc.as_dict(svc.get(obj.store, obj.resolve("approval", approval_id))))
