"""``clawsched runs ...``: run history, output, lineage and what is running now."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, table


@click.group("runs")
def runs() -> None:
    """Run history: list, inspect, read output, see what is running."""


def _rows(items: list) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (r.id, r.job_id, r.status, r.trigger, r.started_at or r.created_at, r.duration_ms,
         r.shell_exit_code, (r.summary or r.error_message or r.skip_reason or "")[:60])
        for r in items
    ]


HEADERS = ["id", "job", "status", "trigger", "started", "ms", "exit", "summary"]


@command(runs, "list", short_lived=True)
@click.argument("job_id")
@click.argument("limit", required=False, default=20, type=click.IntRange(1, 10_000))
def runs_list(obj: CliContext, as_json: bool, job_id: str, limit: int) -> None:
    """The latest runs of a job, newest first."""
    from clawsched.sched import jobs
    from clawsched.sched import runs as svc

    jobs.get(obj.store, job_id)  # a clear error for an unknown job
    items = svc.for_job(obj.store, job_id, limit)
    emit_json([svc.as_dict(r) for r in items]) if as_json else table(_rows(items), HEADERS)


@command(runs, "get", short_lived=True)
@click.argument("run_id")
def runs_get(obj: CliContext, as_json: bool, run_id: str) -> None:
    """Every field of one run as JSON."""
    from clawsched.sched import runs as svc

    emit_json(svc.as_dict(svc.get(obj.store, run_id)))


@command(runs, "output")
@click.argument("run_id")
@click.argument("stream", required=False, default="stdout", type=click.Choice(["stdout", "stderr"]))
def runs_output(obj: CliContext, as_json: bool, run_id: str, stream: str) -> None:
    """The full stdout or stderr of a run, including output offloaded to the database (or a file)."""
    from clawsched.sched import output
    from clawsched.sched import runs as svc

    run = svc.get(obj.store, run_id)
    if as_json:
        text = output.read(obj.store, run, stream)
        emit_json({"runId": run_id, "stream": stream, "bytes": len(text.encode()), "output": text})
        return
    for chunk in output.chunks(obj.store, run, stream):  # streamed: a 200 MB log is never held whole
        click.echo(chunk, nl=False)


@command(runs, "running", short_lived=True)
def runs_running(obj: CliContext, as_json: bool) -> None:
    """Runs that are running now, with the host and pid running them."""
    from clawsched.sched import runs as svc

    items = svc.running(obj.store)
    if as_json:
        emit_json([svc.as_dict(r) for r in items])
    else:
        table([(r.id, r.job_id, r.hostname, r.pid, r.started_at, r.last_heartbeat) for r in items],
              ["id", "job", "host", "pid", "started", "heartbeat"])


@command(runs, "stale")
@click.argument("threshold_s", required=False, default=90.0, type=float)
def runs_stale(obj: CliContext, as_json: bool, threshold_s: float) -> None:
    """Running runs whose worker has not heartbeated for THRESHOLD_S seconds (default 90)."""
    from clawsched.sched import runs as svc

    items = svc.stale(obj.store, threshold_s)
    emit_json([svc.as_dict(r) for r in items]) if as_json else table(_rows(items), HEADERS)


@command(runs, "tree")
@click.argument("run_id")
def runs_tree(obj: CliContext, as_json: bool, run_id: str) -> None:
    """A run's lineage both ways: what triggered it, its retries and replays, everything it triggered."""
    from clawsched.sched import lineage

    result = lineage.tree(obj.store, run_id)
    emit_json(result) if as_json else click.echo("\n".join(lineage.render(result)))
