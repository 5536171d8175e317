"""``clawsched runs ...``: run history (of one job or across jobs), output, lineage and what is running now."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show, table

STATUSES = ["pending", "queued", "running", "ok", "error", "timeout", "cancelled", "crashed", "unconfirmed",
            "skipped", "awaiting_approval", "approved", "rejected"]
HEADERS = ["id", "job", "name", "status", "trigger", "started", "ms", "exit", "summary"]


@click.group("runs")
def runs() -> None:
    """Run history: list, inspect, read output, see what is running."""


def _rows(obj: CliContext, items: list[Any]) -> list[tuple[Any, ...]]:
    from clawsched.sched import jobs

    names = jobs.names(obj.store, (r.job_id for r in items))
    return [
        (r.id[:12], r.job_id[:12], names.get(r.job_id, "(deleted)"), r.status, r.trigger,
         r.started_at or r.created_at, r.duration_ms, r.shell_exit_code,
         (r.summary or r.error_message or r.skip_reason or "")[:60])
        for r in items
    ]


def parse_since(text: str | None) -> datetime | None:
    """``--since``: an ISO-8601 instant (UTC unless it names an offset) or an age: 30s, 15m, 2h, 7d."""
    from clawsched.sched.errors import SpecError
    from clawsched.sched.store.models import utcnow

    if text is None:
        return None
    age = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if age:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        return utcnow() - timedelta(**{unit: float(age.group(1))})
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SpecError(f"--since: {text!r} is neither an age (30m, 2h, 7d) nor an ISO-8601 instant "
                        "(2026-01-31T09:00:00Z)", field="since") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=utcnow().tzinfo)


@command(runs, "list", short_lived=True)
@click.argument("job_id", required=False)
@click.argument("limit", required=False, type=click.IntRange(1, 10_000))
@click.option("--job", "job_opt", help="Only this job's runs (id or a unique prefix); same as JOB_ID.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only runs in this status (repeatable).")
@click.option("--since", help="Only runs created since: an age (30m, 2h, 7d) or an ISO-8601 instant.")
@click.option("--limit", "limit_opt", type=click.IntRange(1, 10_000), help="How many runs (default 20).")
def runs_list(obj: CliContext, as_json: bool, job_id: str | None, limit: int | None, job_opt: str | None,
              statuses: tuple[str, ...], since: str | None, limit_opt: int | None) -> None:
    """The latest runs, newest first: across every job, or of JOB_ID (or --job)."""
    from clawsched.sched import jobs
    from clawsched.sched import runs as svc

    wanted = obj.resolve_opt("job", job_opt or job_id)
    if wanted is not None and wanted not in jobs.names(obj.store, [wanted]):
        jobs.get(obj.store, wanted)  # a clear error for an unknown job (a deleted one still has its runs)
    items = svc.recent(obj.store, job_id=wanted, statuses=statuses, since=parse_since(since),
                       limit=limit_opt or limit or 20)
    emit_json([svc.as_dict(r) for r in items]) if as_json else table(_rows(obj, items), HEADERS)


@command(runs, "get", short_lived=True)
@click.argument("run_id")
def runs_get(obj: CliContext, as_json: bool, run_id: str) -> None:
    """Every field of one run (RUN_ID or a unique prefix), as `key: value` lines or JSON."""
    from clawsched.sched import runs as svc

    data = svc.as_dict(svc.get(obj.store, obj.resolve("run", run_id)))
    if not as_json:
        data = _with_name(obj, data)
    show(as_json, data)


def _with_name(obj: CliContext, data: dict[str, Any]) -> dict[str, Any]:
    from clawsched.sched import jobs

    name = jobs.names(obj.store, [data["job_id"]]).get(data["job_id"], "(deleted)")
    return {"id": data["id"], "job_id": data["job_id"], "job_name": name,
            **{k: v for k, v in data.items() if k not in ("id", "job_id")}}


@command(runs, "output")
@click.argument("run_id")
@click.argument("stream", required=False, default="stdout", type=click.Choice(["stdout", "stderr"]))
def runs_output(obj: CliContext, as_json: bool, run_id: str, stream: str) -> None:
    """The full stdout or stderr of a run, including output offloaded to the database (or a file)."""
    from clawsched.sched import output
    from clawsched.sched import runs as svc

    run = svc.get(obj.store, obj.resolve("run", run_id))
    if as_json:
        text = output.read(obj.store, run, stream)
        emit_json({"runId": run.id, "stream": stream, "bytes": len(text.encode()), "output": text})
        return
    for chunk in output.chunks(obj.store, run, stream):  # streamed: a 200 MB log is never held whole
        click.echo(chunk, nl=False)


@command(runs, "running", short_lived=True)
def runs_running(obj: CliContext, as_json: bool) -> None:
    """Runs that are running now, with the host and pid running them."""
    from clawsched.sched import jobs
    from clawsched.sched import runs as svc

    items = svc.running(obj.store)
    if as_json:
        emit_json([svc.as_dict(r) for r in items])
        return
    names = jobs.names(obj.store, (r.job_id for r in items))
    table([(r.id[:12], r.job_id[:12], names.get(r.job_id, "(deleted)"), r.hostname, r.pid, r.started_at,
            r.last_heartbeat) for r in items], ["id", "job", "name", "host", "pid", "started", "heartbeat"])


@command(runs, "stale")
@click.argument("threshold_s", required=False, default=90.0, type=float)
def runs_stale(obj: CliContext, as_json: bool, threshold_s: float) -> None:
    """Running runs whose worker has not heartbeated for THRESHOLD_S seconds (default 90)."""
    from clawsched.sched import runs as svc

    items = svc.stale(obj.store, threshold_s)
    emit_json([svc.as_dict(r) for r in items]) if as_json else table(_rows(obj, items), HEADERS)


@command(runs, "tree")
@click.argument("run_id")
def runs_tree(obj: CliContext, as_json: bool, run_id: str) -> None:
    """A run's lineage both ways: what triggered it, its retries and replays, everything it triggered."""
    from clawsched.sched import lineage

    result = lineage.tree(obj.store, obj.resolve("run", run_id))
    emit_json(result) if as_json else click.echo("\n".join(lineage.render(result)))
