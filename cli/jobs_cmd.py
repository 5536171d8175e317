"""``clawsched jobs ...``: define, change, start and cancel jobs, draw their chains, decide their approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from clawsched.cli import job_views
from clawsched.cli.command import command, load_json
from clawsched.cli.context import CliContext
from clawsched.cli.fires import print_fires
from clawsched.cli.output import emit_json, show, table


@click.group("jobs")
def jobs() -> None:
    """Define, change, start and inspect jobs.

    A job spec is JSON in openclaw-scheduler's flat form or OpenClaw's cron-tool form, e.g.

      clawsched jobs add '{"name": "Disk check", "schedule_cron": "*/15 * * * *",
        "session_target": "shell", "payload_message": "df -h /", "run_timeout_ms": 60000}'

    Pass the JSON inline, as @file.json, or - to read stdin. `clawsched schema jobs` lists every field.
    """


def _actor() -> Any:
    """The OS user, the actor the audit log records for a change made here (imported only to write)."""
    from clawsched.sched.audit import Actor

    return Actor.cli()


def local_time(instant: datetime | None, tz: str) -> str | None:
    if instant is None:
        return None
    try:
        return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")
    except Exception:
        return instant.strftime("%Y-%m-%d %H:%M:%S UTC")


def _schedule_text(job: dict[str, Any]) -> str:
    kind = job["schedule_kind"]
    if job["parent_id"]:
        delay = f" +{job['trigger_delay_s']}s" if job["trigger_delay_s"] else ""
        return f"on {job['trigger_on']} of {job['parent_id'][:8]}{delay}"
    if kind == "cron":
        tz = job["schedule_tz"]
        return f"cron {job['schedule_cron']}" + (f" ({tz})" if tz != "UTC" else "")
    if kind == "every":
        return f"every {job['schedule_every_ms'] / 1000:g}s"
    if kind == "at":
        return f"at {local_time(job['schedule_at'], job['schedule_tz'])}"
    return str(kind)


JOB_TYPES = ("standard", "watchdog")
TARGETS = ("shell", "main", "isolated", "session")


@command(jobs, "list", short_lived=True)
@click.option("--type", "kind", type=click.Choice([*JOB_TYPES, *TARGETS]),
              help="Only jobs of this job_type (standard, watchdog) or session_target "
                   "(shell, main, isolated, session).")
def jobs_list(obj: CliContext, as_json: bool, kind: str | None) -> None:
    """List jobs with their status and next run (in each job's time zone)."""
    from clawsched.cli import job_changes
    from clawsched.sched.store import listing  # the driver alone: no SQLAlchemy, no ORM, no schedules

    with listing.reader(obj.settings.database_url, lambda: obj.store) as db:
        rows = listing.list_with_status(db, job_type=kind if kind in JOB_TYPES else None)
    if kind in TARGETS:
        rows = [j for j in rows if str(j["session_target"]).split(":")[0] == kind]
    if as_json:
        emit_json([{**listing.masked(j), "next_run_local": local_time(j["next_run_at"], j["schedule_tz"])}
                   for j in rows])
        return
    table(
        [(j["id"][:12], j["name"], j["session_target"], _schedule_text(j), j["status"],
          local_time(j["next_run_at"], j["schedule_tz"]), job_changes.pause_text(j, local_time)) for j in rows],
        ["id", "name", "target", "schedule", "status", "next run", "paused"],
    )



@command(jobs, "get", short_lived=True)
@click.argument("job_id")
def jobs_get(obj: CliContext, as_json: bool, job_id: str) -> None:
    """Every field of one job (JOB_ID or a unique prefix of it), as `key: value` lines or JSON."""
    from clawsched.sched import jobs as svc

    show(as_json, svc.as_dict(svc.get(obj.store, obj.resolve("job", job_id))))


def _saved(obj: CliContext, job: Any, as_json: bool, verb: str, dry_run: bool) -> None:
    from clawsched.sched import jobs as svc

    data = svc.as_dict(job)
    if not dry_run:
        obj.wake(f"job {verb}")
    fires = _first_fires(job) if dry_run else None
    if as_json:
        emit_json({"ok": True, "dryRun": dry_run, "job": data, **({"preview": fires} if fires else {})})
    else:
        prefix = "would be " if dry_run else ""
        click.echo(f"job {job.id} {prefix}{verb}: {job.name}; next run "
                   f"{local_time(job.next_run_at, job.schedule_tz) or '-'}")
        if fires:
            print_fires(fires)


def _first_fires(job: Any) -> dict[str, Any]:
    """A dry run's first fires, from now (nothing is written: the preview reads only the job row built)."""
    from clawsched.sched import previews

    return previews.of(job, previews.DEFAULT_COUNT, previews.parse_start(None, job.schedule_tz or "UTC"))


@command(jobs, "next", short_lived=True)
@click.argument("job_id")
@click.argument("count", required=False, default=5, type=click.IntRange(1, 1000))
@click.option("--from", "start", metavar="INSTANT",
              help="Start here instead of now: ISO-8601; without an offset, in the job's zone.")
def jobs_next(obj: CliContext, as_json: bool, job_id: str, count: int, start: str | None) -> None:
    """The next COUNT fires of a job (default 5), in UTC and the job's zone, folds and gaps marked."""
    from clawsched.sched import previews

    found = previews.for_job(obj.store, obj.resolve("job", job_id), count, start=start)
    if as_json:
        emit_json({"ok": True, **found})
        return
    print_fires(found)


@command(jobs, "add")
@click.argument("spec")
@click.option("--dry-run", is_flag=True, help="Validate and show the job without saving it.")
@click.option("--at", "at", help="Fire once at this ISO-8601 instant (replaces the spec's schedule).")
@click.option("--in", "in_", help="Fire once this long from now: 15m, 2h, 1d, 1h30m.")
@click.option("--watchdog", is_flag=True, help="A watchdog job: shell, payload = watchdog_check_cmd, no delivery.")
def jobs_add(obj: CliContext, as_json: bool, spec: str, dry_run: bool, at: str | None, in_: str | None,
             watchdog: bool) -> None:
    """Create a job from a JSON spec (inline, @file.json or - for stdin).

    Also takes the cron tool's call as agents send it ({"action": "add", "job": {...}}, or the job's
    fields beside "action") and a job as `openclaw cron list --json` shows it."""
    from clawsched.sched import jobs as svc
    from clawsched.sched.specs import shortcuts
    from clawsched.sched.specs.cron_tool import as_job
    from clawsched.sched.store.models import utcnow

    now = utcnow()
    job = as_job(load_json(spec), now=now)
    if watchdog:
        job = shortcuts.watchdog(job)
    if at or in_:
        job = shortcuts.one_shot(job, at=at, in_=in_, now=now)
    _saved(obj, svc.create(obj.store, job, now=now, dry_run=dry_run, actor=_actor()), as_json, "added", dry_run)


@command(jobs, "update")
@click.argument("job_id")
@click.argument("patch")
@click.option("--dry-run", is_flag=True, help="Validate and show the change without saving it.")
def jobs_update(obj: CliContext, as_json: bool, job_id: str, patch: str, dry_run: bool) -> None:
    """Change some fields of a job (a partial JSON spec)."""
    from clawsched.sched import jobs as svc

    job = svc.update(obj.store, obj.resolve("job", job_id), load_json(patch, "patch"), dry_run=dry_run,
                     actor=_actor())
    _saved(obj, job, as_json, "updated", dry_run)


@command(jobs, "validate")
@click.argument("spec")
def jobs_validate(obj: CliContext, as_json: bool, spec: str) -> None:
    """Check a job spec without saving anything; exits 2 and names each bad field if it is invalid."""
    from clawsched.sched import specs
    from clawsched.sched.specs.cron_tool import as_job
    from clawsched.sched.store.models import utcnow

    parsed = specs.parse_job(as_job(load_json(spec), now=utcnow()))
    if as_json:
        emit_json({"ok": True, "spec": parsed.columns()})
    else:
        click.echo(f"valid: {parsed.name}")


def _toggle(obj: CliContext, as_json: bool, job_id: str, enabled: bool) -> None:
    from clawsched.sched import jobs as svc

    job = svc.set_enabled(obj.store, obj.resolve("job", job_id), enabled, actor=_actor())
    obj.wake("job toggled")
    if as_json:
        emit_json({"ok": True, "id": job.id, "enabled": job.enabled})
    else:
        click.echo(f"job {job.id} {'enabled' if enabled else 'disabled'}")


@command(jobs, "enable")
@click.argument("job_id")
def jobs_enable(obj: CliContext, as_json: bool, job_id: str) -> None:
    """Enable a job; its next run is computed from now."""
    _toggle(obj, as_json, job_id, True)


@command(jobs, "disable")
@click.argument("job_id")
def jobs_disable(obj: CliContext, as_json: bool, job_id: str) -> None:
    """Disable a job; it keeps its history and can still be run by hand."""
    _toggle(obj, as_json, job_id, False)


@command(jobs, "delete")
@click.argument("job_id")
@click.option("--yes", "--cascade", "cascade", is_flag=True, help="Also delete the job's child jobs (chains).")
@click.option("--purge", is_flag=True, help="Also delete the runs (by default they are kept, with the job's name).")
def jobs_delete(obj: CliContext, as_json: bool, job_id: str, cascade: bool, purge: bool) -> None:
    """Delete a job; its runs are kept (`runs list --job ID`) unless --purge. A job with child jobs needs
    --yes (or --cascade), which deletes them too."""
    from clawsched.sched import jobs as svc
    from clawsched.sched.errors import Conflict

    job_id = obj.resolve("job", job_id)
    children = [c for c in svc.tree(obj.store, job_id)[0]["children"]] if not cascade else []
    if children:
        names = ", ".join(f"{c['job'].id[:12]} ({c['job'].name})" for c in children)
        raise Conflict(f"job {job_id} has {len(children)} child job(s): {names}; deleting it deletes them too: "
                       "pass --yes (or --cascade) to go ahead, or first give them another parent_id")
    removed = svc.delete_job(obj.store, job_id, purge=purge, actor=_actor())
    kept = "their runs deleted too" if purge else f"their runs are kept: `clawsched runs list --job {job_id[:12]}`"
    if as_json:
        emit_json({"ok": True, "deleted": removed, "runsKept": not purge})
    else:
        click.echo(f"deleted {removed} job(s); {kept}")


@command(jobs, "run")
@click.argument("job_id")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the run to end; print its outcome and exit with "
              "its status (0 ok, the shell's code for an error, 124 timeout, 1 otherwise).")
@click.option("--follow", is_flag=True, help="Like --wait, streaming the run's stdout as it runs.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1), default=3600.0, show_default=True,
              help="How long --wait/--follow waits, in seconds.")
def jobs_run(obj: CliContext, as_json: bool, job_id: str, wait_: bool, follow: bool, timeout_s: float) -> None:
    """Start a run now (also for a disabled job). Prints the run id and what it will really do."""
    from clawsched.cli import run_watch
    from clawsched.sched import jobs as svc

    job_id = obj.resolve("job", job_id)
    clash = run_watch.overlap(obj, job_id)
    run_id = svc.run_now(obj.store, job_id)
    woken = obj.wake("run now") if obj.settings.redis_url else False
    workers, notice = job_views.takers(obj)
    if as_json and not (wait_ or follow):
        emit_json({"ok": True, "enqueued": True, "runId": run_id, "beatWoken": woken, "workersLive": workers,
                   "overlap": clash, **({"warning": notice} if notice else {})})
        return
    if not as_json:
        click.echo(f"run {run_id} " + (clash["message"] if clash else "queued"), err=wait_ or follow)
        if notice:
            click.echo(f"warning: {notice}", err=True)
    if wait_ or follow:
        _finish_waiting(obj, as_json, run_id, follow and not as_json, timeout_s)


def _finish_waiting(obj: CliContext, as_json: bool, run_id: str, follow: bool, timeout_s: float) -> None:
    import sys

    from clawsched.cli import run_watch
    from clawsched.sched import runs

    run = run_watch.wait(obj, run_id, follow=follow, timeout_s=timeout_s)
    if as_json:
        emit_json({"ok": run.status == "ok", "run": runs.as_dict(run), "exit": run_watch.exit_code(run)})
    else:
        click.echo(run_watch.outcome_line(run), err=True)
    sys.exit(run_watch.exit_code(run))


@command(jobs, "tree")
@click.argument("job_id", required=False)
def jobs_tree(obj: CliContext, as_json: bool, job_id: str | None) -> None:
    """Draw root jobs and their chains (or the tree under JOB_ID)."""
    from clawsched.sched import jobs as svc
    from clawsched.sched.rules import chains

    forest = svc.tree(obj.store, obj.resolve_opt("job", job_id))
    if as_json:
        emit_json([job_views.job_json(n) for n in forest])
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

    result = svc.cancel(obj.store, obj.resolve("job", job_id), cascade=not no_cascade, actor=_actor())
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

    approval = approvals.approve(obj.store, obj.resolve("job", job_id), by=by, reason=" ".join(reason) or None,
                                 approval_id=obj.resolve_opt("approval", approval_id),
                                 wake=lambda: obj.wake("approved"))
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

    approval = approvals.reject(obj.store, obj.resolve("job", job_id), by=by, reason=" ".join(reason) or None,
                                approval_id=obj.resolve_opt("approval", approval_id))
    _approval_out(approval, as_json, "rejected")



@command(jobs, "pause")
@click.argument("job_id")
@click.option("--reason", required=True, help="Why the job is paused (shown by `jobs list` and `jobs get`).")
@click.option("--until", "until", help="Resume by itself at this ISO-8601 instant (UTC without an offset).")
def jobs_pause(obj: CliContext, as_json: bool, job_id: str, reason: str, until: str | None) -> None:
    """Pause a job with a note: it does not fire until `jobs resume` (or --until)."""
    from clawsched.cli import job_changes
    from clawsched.sched import pauses

    job = pauses.pause(obj.store, obj.resolve("job", job_id), reason=reason, until=job_changes.instant(until),
                       actor=_actor())
    obj.wake("job paused")
    end = f" until {local_time(job.paused_until, job.schedule_tz)}" if job.paused_until else ""
    job_changes.show(job, as_json, f"job {job.id} paused by {job.paused_by}{end}: {job.paused_reason}")


@command(jobs, "resume")
@click.argument("job_id")
def jobs_resume(obj: CliContext, as_json: bool, job_id: str) -> None:
    """End a job's pause; the fires it held back follow the job's catchup policy (docs/jobs-audit-budgets.md)."""
    from clawsched.cli import job_changes
    from clawsched.sched import pauses

    job = pauses.resume(obj.store, obj.resolve("job", job_id), actor=_actor())
    obj.wake("job resumed")
    next_run = local_time(job.next_run_at, job.schedule_tz) or "-"
    job_changes.show(job, as_json, f"job {job.id} resumed; next run {next_run}")


@command(jobs, "history")
@click.argument("job_id")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="Entries to show.")
def jobs_history(obj: CliContext, as_json: bool, job_id: str, limit: int) -> None:
    """Every change to a job (also a deleted one): when, what, who, from where, and the field diff."""
    from clawsched.cli import job_changes

    job_changes.history(obj, job_id, limit, as_json)
