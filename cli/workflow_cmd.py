"""Workflow commands: ``jobs tree|cancel|approve|reject``, ``approvals list|get``, ``runs tree``."""

from __future__ import annotations

import click

from clawsched.cli.context import CliContext
from clawsched.cli.jobs_cmd import jobs
from clawsched.cli.main import cli, command
from clawsched.cli.output import emit_json, table
from clawsched.cli.runs_cmd import runs


def _job_json(node: dict) -> dict:  # type: ignore[type-arg]
    job = node["job"]
    return {"id": job.id, "name": job.name, "enabled": job.enabled, "trigger_on": job.trigger_on,
            "trigger_delay_s": job.trigger_delay_s, "trigger_condition": job.trigger_condition,
            "agent_id": job.agent_id, "session_target": job.session_target,
            "approval_required": job.approval_required, "children": [_job_json(c) for c in node["children"]]}


@command(jobs, "tree")
@click.argument("job_id", required=False)
def jobs_tree(obj: CliContext, as_json: bool, job_id: str | None) -> None:
    """Draw root jobs and their chains (or the tree under JOB_ID)."""
    from clawsched.sched import jobs as svc
    from clawsched.sched.rules import chains

    forest = svc.tree(obj.store, job_id)
    if as_json:
        emit_json([_job_json(n) for n in forest])
        return
    lines = chains.render_forest(forest)
    click.echo("\n".join(lines) if lines else "(no jobs)")


@command(jobs, "cancel")
@click.argument("job_id")
@click.option("--no-cascade", is_flag=True, help="Cancel only this job, not its descendants.")
def jobs_cancel(obj: CliContext, as_json: bool, job_id: str, no_cascade: bool) -> None:
    """Disable a job and its descendants and stop their runs (running shell runs are killed)."""
    from clawsched.sched import jobs as svc
    from clawsched.sched.coordination import cancels

    result = svc.cancel(obj.store, job_id, cascade=not no_cascade)
    cancels.announce(obj.redis, obj.settings, result["running"])
    obj.wake("job cancelled")
    if as_json:
        emit_json({"ok": True, "cancelledJobs": result["jobs"], "cancelledRuns": result["runs"],
                   "stoppedRuns": result["running"]})
    else:
        click.echo(f"cancelled {len(result['jobs'])} job(s) and {len(result['runs'])} run(s) "
                   f"({len(result['running'])} running)")


def _approval_out(approval: object, as_json: bool, verb: str) -> None:
    from clawsched.sched import approvals

    data = approvals.as_dict(approval)  # type: ignore[arg-type]
    if as_json:
        emit_json({"ok": True, "approval": data})
    else:
        click.echo(f"approval {data['id']} of job {data['job_id']} {verb} by {data['resolved_by']}; "
                   f"run {data['run_id']}")


@command(jobs, "approve")
@click.argument("job_id")
@click.argument("reason", nargs=-1)
@click.option("--by", "by", default="operator", show_default=True, help="Who approves (recorded).")
@click.option("--approval", "approval_id", help="A specific approval id (default: the job's oldest pending).")
def jobs_approve(obj: CliContext, as_json: bool, job_id: str, reason: tuple[str, ...], by: str,
                 approval_id: str | None) -> None:
    """Approve the job's pending approval; its run starts at once."""
    from clawsched.sched import approvals

    approval = approvals.approve(obj.store, job_id, by=by, reason=" ".join(reason) or None,
                                 approval_id=approval_id, wake=lambda: obj.wake("approved"))
    _approval_out(approval, as_json, "approved")


@command(jobs, "reject")
@click.argument("job_id")
@click.argument("reason", nargs=-1)
@click.option("--by", "by", default="operator", show_default=True, help="Who rejects (recorded).")
@click.option("--approval", "approval_id", help="A specific approval id (default: the job's oldest pending).")
def jobs_reject(obj: CliContext, as_json: bool, job_id: str, reason: tuple[str, ...], by: str,
                approval_id: str | None) -> None:
    """Reject the job's pending approval; its run ends 'rejected' with the reason."""
    from clawsched.sched import approvals

    approval = approvals.reject(obj.store, job_id, by=by, reason=" ".join(reason) or None, approval_id=approval_id)
    _approval_out(approval, as_json, "rejected")


@cli.group()
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


@command(runs, "tree")
@click.argument("run_id")
def runs_tree(obj: CliContext, as_json: bool, run_id: str) -> None:
    """A run's lineage both ways: what triggered it, its retries and replays, everything it triggered."""
    from clawsched.sched import lineage

    result = lineage.tree(obj.store, run_id)
    emit_json(result) if as_json else click.echo("\n".join(lineage.render(result)))
