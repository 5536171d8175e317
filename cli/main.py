"""``clawsched``: the command line. Heavy imports (SQLAlchemy, Celery) happen inside the commands that
need them, so ``clawsched --version`` and ``jobs list`` stay fast."""

from __future__ import annotations

import functools
import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, fail
from clawsched.sched import __version__

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def command(group: click.Group, name: str, *, short_lived: bool = False,
            **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand with ``--json`` and the one place errors become exit codes.

    A ``short_lived`` command (a bounded read that prints and returns) runs with the cycle collector
    paused: importing SQLAlchemy and a driver otherwise triggers full collections over everything just
    imported (~40 ms of `jobs list` on PostgreSQL), and such a command makes no garbage cycles to collect.
    Never for a command that keeps running (worker, beat, up).
    """

    def wrap(fn: Callable[..., Any]) -> click.Command:
        @functools.wraps(fn)
        def run(*args: Any, as_json: bool = False, **kw: Any) -> Any:
            from clawsched.sched.errors import ClawschedError

            try:
                with _collector_paused(short_lived):
                    return fn(*args, as_json=as_json, **kw)
            except ClawschedError as exc:
                fail(exc, as_json)

        return group.command(name, **kwargs)(json_option(click.pass_obj(run)))

    return wrap


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    resume = pause and gc.isenabled()
    if resume:
        gc.disable()
    try:
        yield
    finally:
        if resume:
            gc.enable()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="clawsched")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """clawsched: a durable scheduler and workflow runtime for OpenClaw agents and shell jobs.

    Start everything on this machine with `clawsched up` (SQLite + an embedded Redis), or see it work
    with `clawsched demo`. Settings come from CLAWSCHED_* environment variables (see the README).
    """
    ctx.obj = ctx.obj or CliContext()
    ctx.call_on_close(ctx.obj.close)


def _load_json(text: str, what: str = "job spec") -> dict[str, Any]:
    from clawsched.sched.errors import SpecError

    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:]) as fh:
            text = fh.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                        "pass a JSON object, @file.json or - for stdin") from None
    if not isinstance(data, dict):
        raise SpecError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


# ---------------------------------------------------------------- version, status, schema, db

@command(cli, "version")
def version(obj: CliContext, as_json: bool) -> None:
    """Print the version."""
    emit_json({"version": __version__}) if as_json else click.echo(__version__)


@command(cli, "status", short_lived=True)
def status(obj: CliContext, as_json: bool) -> None:
    """Show the store, the broker and counts of jobs and runs."""
    from clawsched.sched import jobs, runs

    info: dict[str, Any] = {"version": __version__, "database": _safe_url(obj.store.url),
                            "redis": _safe_url(obj.settings.redis_url), "jobs": jobs.count(obj.store),
                            "runs": runs.count_by_status(obj.store)}
    try:
        obj.redis.ping()
        info["redis_ok"] = True
    except Exception as exc:
        info["redis_ok"] = False
        info["redis_error"] = str(exc)
    info["running"] = len(runs.running(obj.store))
    if as_json:
        emit_json(info)
        return
    for key in ("version", "database", "redis", "redis_ok", "jobs", "runs", "running"):
        click.echo(f"{key:>9}: {info[key]}")


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@cli.group()
def schema() -> None:
    """JSON schemas of job specs and run records."""


@command(schema, "jobs")
def schema_jobs(obj: CliContext, as_json: bool) -> None:
    """The job spec's JSON schema (fields, types, defaults, enums)."""
    from clawsched.sched.specs import job_json_schema

    emit_json(job_json_schema())


@command(schema, "runs")
def schema_runs(obj: CliContext, as_json: bool) -> None:
    """Run statuses and the fields of a run record."""
    from clawsched.sched.states import TERMINAL, RunStatus
    from clawsched.sched.store.models import Run

    emit_json({
        "statuses": [s.value for s in RunStatus],
        "terminal": sorted(s.value for s in TERMINAL),
        "fields": {c.key: str(c.type) for c in Run.__table__.columns},
    })


@cli.group()
def db() -> None:
    """Database schema management."""


@command(db, "upgrade")
def db_upgrade(obj: CliContext, as_json: bool) -> None:
    """Apply all migrations to the database in CLAWSCHED_DATABASE_URL."""
    from clawsched.sched.store import migrations
    from clawsched.sched.store.engine import Store

    revision = migrations.upgrade(Store(obj.settings.database_url))
    emit_json({"ok": True, "revision": revision}) if as_json else click.echo(f"database at revision {revision}")


COMMAND_MODULES = ("jobs_cmd", "runs_cmd", "procs_cmd", "workflow_cmd", "agent_cmd", "api_cmd")


def main() -> None:
    import importlib

    if sys.argv[1:] in (["--version"], ["-V"]):  # answer before importing every command module
        click.echo(f"clawsched, version {__version__}")
        return
    for name in COMMAND_MODULES:  # each registers its command groups on ``cli``
        if _resolves(sys.argv[1:]):  # the rest only add other commands: `jobs list` skips ~15 ms of them
            break
        try:
            importlib.import_module(f"clawsched.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"clawsched.cli.{name}":
                raise
    try:
        cli(prog_name="clawsched")
    finally:
        # The process is about to end: without this, interpreter shutdown runs the cycle collector over
        # every object SQLAlchemy built (~50 ms of a 400 ms `jobs list`) only to free memory the OS takes
        # back anyway. The store's connections were closed when the command's context closed.
        gc.freeze()


def _resolves(argv: list[str]) -> bool:
    """Whether ``argv`` already names a command that is not a group.

    A group's help, an unknown name or an option before the command need every module loaded.
    """
    command: click.Command | None = cli
    for word in argv:
        if not isinstance(command, click.Group):
            break
        command = command.commands.get(word)
    return command is not None and not isinstance(command, click.Group)

