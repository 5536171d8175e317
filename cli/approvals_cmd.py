"""``clawsched approvals ...``: what waits for a person, and who decided what.

Deciding an approval is a verb on its job: ``jobs approve`` and ``jobs reject`` (in jobs_cmd)."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, table


@click.group("approvals")
def approvals() -> None:
    """Approval gates: what waits for a person, and who decided what."""


@command(approvals, "list")
@click.option("--all", "show_all", is_flag=True, help="Also resolved approvals (default: pending only).")
@click.option("--job", "job_id", help="Only this job's approvals.")
def approvals_list(obj: CliContext, as_json: bool, show_all: bool, job_id: str | None) -> None:
    """Pending approvals (newest first)."""
    from clawsched.sched import approvals as svc

    items = svc.list_approvals(obj.store, status=None if show_all else "pending", job_id=job_id)
    if as_json:
        emit_json([svc.as_dict(a) for a in items])
        return
    table([(a.id, a.job_id, a.run_id, a.status, a.requested_at, a.expires_at, a.resolved_by, a.reason)
           for a in items], ["id", "job", "run", "status", "requested", "expires", "by", "reason"])


@command(approvals, "get")
@click.argument("approval_id")
def approvals_get(obj: CliContext, as_json: bool, approval_id: str) -> None:
    """Every field of one approval as JSON."""
    from clawsched.sched import approvals as svc

    emit_json(svc.as_dict(svc.get(obj.store, approval_id)))
