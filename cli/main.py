"""``clawsched``: the command line. Heavy imports (SQLAlchemy, Celery) happen inside the commands that
need them, so ``clawsched --version`` and ``jobs list`` stay fast.

The root holds ``version`` and ``status``; every other command lives in a module of its own, named in
``COMMANDS`` and imported only when it is named (``jobs list`` loads ``jobs_cmd`` alone) or when help
lists them all. Imports go one way: this module -> the command modules -> ``command``, ``output``,
``context``.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import click

from clawsched.cli.command import command, json_wanted, take_json_flag
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json
from clawsched.sched import __version__

# Command name -> the module under clawsched.cli that defines it, under that same name.
COMMANDS: dict[str, str] = {
    "agents": "agents_cmd",
    "api": "api_cmd",
    "apply": "apply_cmd",
    "alias": "alias_cmd",
    "approvals": "approvals_cmd",
    "backup": "backup_cmd",
    "beat": "procs_cmd",
    "db": "db_cmd",
    "demo": "procs_cmd",
    "dispatch": "dispatch_cmd",
    "enqueue": "dispatch_cmd",
    "export": "apply_cmd",
    "flower": "flower_cmd",
    "idem": "idem_cmd",
    "import": "import_cmd",
    "jobs": "jobs_cmd",
    "list": "dispatch_cmd",
    "msg": "msg_cmd",
    "queue": "queue_cmd",
    "restore": "backup_cmd",
    "runs": "runs_cmd",
    "schema": "schema_cmd",
    "service": "service_cmd",
    "tasks": "tasks_cmd",
    "up": "procs_cmd",
    "worker": "procs_cmd",
}

# A command whose name is a Python keyword is defined under another name in its module.
_KEYWORDS = {"import": "imports"}


class RootGroup(click.Group):
    """The root group: its own commands, plus each of ``COMMANDS`` imported when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(f"clawsched.cli.{COMMANDS[cmd_name]}")
        found: click.Command = getattr(module, _KEYWORDS.get(cmd_name, cmd_name))
        return found

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, take_json_flag(ctx, args))

    def invoke(self, ctx: click.Context) -> Any:
        """A usage error (unknown option, missing argument) under ``--json`` is JSON too, same exit code."""
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            if json_wanted():
                error = {"code": type(exc).__name__, "message": exc.format_message(), "field": None,
                         "exit": exc.exit_code}
                emit_json({"ok": False, "error": error, "errors": []})
            else:
                click.echo(f"error: {_one_line(exc)}", err=True)
            ctx.exit(exc.exit_code)


def _one_line(exc: click.ClickException) -> str:
    """Click's usage error as one line that names the fix: the command's --help."""
    where = getattr(exc, "ctx", None)
    hint = f" (see `{where.command_path} --help`)" if isinstance(exc, click.UsageError) and where else ""
    return " ".join(exc.format_message().split()) + hint


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="clawsched")
@click.option("--json", is_flag=True, expose_value=False,
              help="JSON output for any command (also after it, or CLAWSCHED_JSON=1).")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """clawsched: a durable scheduler and workflow runtime for OpenClaw agents and shell jobs.

    Start everything on this machine with `clawsched up` (SQLite + an embedded Redis), or see it work
    with `clawsched demo`. Settings come from CLAWSCHED_* environment variables (docs/settings.md).
    """
    ctx.obj = ctx.obj or CliContext()
    ctx.call_on_close(ctx.obj.close)


@command(cli, "version")
def version(obj: CliContext, as_json: bool) -> None:
    """Print the version."""
    emit_json({"version": __version__}) if as_json else click.echo(__version__)


#: What a peer tool can rely on (openclaw-scheduler's `capabilities`); false: not done by clawsched
FEATURES = {"chains": True, "approvals": True, "retries": True, "idempotency": True, "messages": True,
            "task_trackers": True, "dispatch": True, "watchdogs": True, "resource_pools": True,
            "manifests": True, "import": True, "identity_v02": False, "team_adapter": False}


@command(cli, "capabilities")
def capabilities(obj: CliContext, as_json: bool) -> None:
    """What this clawsched does, for tools that check before they call (always JSON)."""
    from clawsched.sched.store import migrations

    emit_json({"scheduler": "clawsched", "scheduler_version": __version__, "schema_version": migrations.head(),
               "manifest_versions": ["0.1"], "features": FEATURES})


@command(cli, "status", short_lived=True)
def status(obj: CliContext, as_json: bool) -> None:
    """Show whether clawsched can work: the database, the Redis in use, live beats and workers, the gateway."""
    from clawsched.sched import readiness
    from clawsched.workers.gateway.client import client_for

    settings = obj.settings
    report = readiness.check(settings, obj.store, gateway_ready=lambda: client_for(settings).ready(force=True))
    info: dict[str, Any] = {"version": __version__, **report}
    if report["checks"]["database"]["ok"]:
        from clawsched.sched import jobs, runs

        info.update(jobs=jobs.count(obj.store), runs=runs.count_by_status(obj.store),
                    running=len(runs.running(obj.store)))
    if report["checks"]["redis"]["ok"] and report["checks"]["worker"]["ok"] is not None:
        info["queues"] = _queues(obj, report["checks"]["worker"]["live"], report["checks"]["database"]["ok"])
    if as_json:
        emit_json(info)
        return
    for line in _status_lines(info):
        click.echo(line)


def _status_lines(info: dict[str, Any]) -> list[str]:
    checks = info["checks"]
    db, redis, gateway = checks["database"], checks["redis"], checks["gateway"]
    lines = [f"{'version':>9}: {info['version']}",
             f"{'database':>9}: {db['url']} {_state(db)}",
             f"{'redis':>9}: {redis['url'] or '(none)'} {_state(redis)}"
             + (f" [from {redis['origin']}]" if redis.get("origin") not in (None, "settings") else "")]
    for kind in ("beat", "worker"):
        lines.extend(_fleet_lines(kind, checks[kind]))
    for name, queue in (info.get("queues") or {}).items():
        lines.append(f"{'queue':>9}: {name} depth={queue['depth']} consumers={','.join(queue['consumers']) or 'NONE'}")
    gw = "ready" if gateway["ok"] else "not ready"
    lines.append(f"{'gateway':>9}: {gateway['url']} {gw}" + (f" ({gateway['note']})" if gateway.get("note") else ""))
    if "jobs" in info:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(info["runs"].items())) or "none"
        lines += [f"{'jobs':>9}: {info['jobs']['total']} ({info['jobs']['enabled']} enabled)",
                  f"{'runs':>9}: {counts}", f"{'running':>9}: {info['running']}"]
    if info["ok"]:
        lines.append(f"{'ready':>9}: yes")
    else:
        down = {"beat": "no beat is alive", "worker": "no worker is alive",
                "redis": "redis is down" if redis["url"] else "no Redis is configured"}
        lines.append(f"{'ready':>9}: NO: " + ", ".join([*(down.get(n, f"{n} is down") for n in info["missing"]),
                                                       *(f"{n} unknown" for n in info["unknown"])]))
        lines += [f"{'':>9}  {name}: {remedy}" for name, remedy in info["remedies"].items()]
    return lines


def _queues(obj: CliContext, workers: list[dict[str, Any]], database_ok: bool) -> dict[str, Any]:
    """Each run queue's depth and the live workers consuming it (``sched.queues``)."""
    from clawsched.sched import jobs, queues
    from clawsched.sched.coordination.connection import probe

    routes = jobs.own_queues(obj.store) if database_ok else []
    return queues.overview(probe(obj.settings.redis_url), obj.settings, workers, routes)


def _state(check: dict[str, Any]) -> str:
    return "ok" if check["ok"] else f"-- {check.get('error') or 'down'}"


def _fleet_lines(kind: str, check: dict[str, Any]) -> list[str]:
    label = f"{kind}s"
    if check["ok"] is None:
        return [f"{label:>9}: {check.get('error', 'unknown')}"]
    if not check["live"]:
        return [f"{label:>9}: NONE ALIVE"]
    lines = [f"{label:>9}: {len(check['live'])} alive"]
    for proc in check["live"]:
        queues = ",".join(proc.get("queues") or [])
        details = "".join(f" {k}={v}" for k, v in (proc.get("details") or {}).items() if v is not None)
        lines.append(f"{'':>11}{proc['id']} host={proc['host']} pid={proc['pid']} version={proc['version']} "
                     f"queues={queues} started={proc['started_at']} seen={proc['age_s']}s ago{details}")
    return lines


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):  # answer before importing anything a command needs
        click.echo(f"clawsched, version {__version__}")
        return
    try:
        cli(prog_name="clawsched")
    finally:
        # The process is about to end: without this, interpreter shutdown runs the cycle collector over
        # every object SQLAlchemy built (~50 ms of a 400 ms `jobs list`) only to free memory the OS takes
        # back anyway. The store's connections were closed when the command's context closed.
        gc.freeze()
