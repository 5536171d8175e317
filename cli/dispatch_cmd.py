"""``clawsched enqueue`` starts a labelled agent session; ``clawsched dispatch ...`` follows and
steers it."""

from __future__ import annotations

import os
import sys

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show

SECONDS = click.IntRange(1, 2**31 - 1)


def _prompt(message: str | None, message_file: str | None, message_env: str | None, message_stdin: bool) -> str:
    from clawsched.sched.errors import SpecError

    given = [x for x in (message, message_file, message_env) if x is not None]
    if len(given) + bool(message_stdin) > 1:
        raise SpecError("give one prompt source: --message, --message-file, --message-env or --message-stdin",
                        field="message")
    if message is not None:
        return message
    if message_file is not None:
        if message_file == "-":
            return sys.stdin.read()
        with open(message_file) as fh:
            return fh.read()
    if message_env is not None:
        if message_env not in os.environ:
            raise SpecError(f"environment variable {message_env} is not set", field="message_env")
        return os.environ[message_env]
    if message_stdin or not sys.stdin.isatty():
        return sys.stdin.read()
    raise SpecError("a prompt is required: --message, --message-file, --message-env or stdin", field="message")


@command(None, "enqueue")
@click.option("--label", required=True, help="Name of the session, used by `dispatch ...`.")
@click.option("--message", help="The prompt.")
@click.option("--message-file", help="Read the prompt from a file ('-' for stdin).")
@click.option("--message-env", help="Read the prompt from this environment variable.")
@click.option("--message-stdin", is_flag=True, help="Read the prompt from stdin.")
@click.option("--mode", type=click.Choice(["fresh", "reuse"]), default="fresh", show_default=True)
@click.option("--thinking")
@click.option("--model")
@click.option("--agent", "agent_id", default="main", show_default=True)
@click.option("--deliver-to", help="Where the completion summary goes (chat id, 'telegram:111' or '@alias').")
@click.option("--channel", help="Channel of --deliver-to (telegram, slack, ...).")
@click.option("--delivery-mode", type=click.Choice(["announce", "announce-always", "none"]), default="announce",
              show_default=True)
@click.option("--timeout", "timeout_s", type=SECONDS, default=300, show_default=True, help="Session budget, seconds.")
@click.option("--monitor/--no-monitor", default=True, help="Arm the silence watchdog (needs --deliver-to).")
@click.option("--watchdog-after", "watchdog_after_s", type=SECONDS, default=3600, show_default=True,
              help="Seconds of silence before the watchdog alerts.")
def enqueue(obj: CliContext, as_json: bool, label: str, message: str | None, message_file: str | None,
            message_env: str | None, message_stdin: bool, mode: str, thinking: str | None, model: str | None,
            agent_id: str, deliver_to: str | None, channel: str | None, delivery_mode: str, timeout_s: int,
            monitor: bool, watchdog_after_s: int) -> None:
    """Start a labelled, isolated agent session now and follow it to its completion summary."""
    from clawsched.sched import dispatches

    prompt = _prompt(message, message_file, message_env, message_stdin)
    row = dispatches.enqueue(obj.store, label=label, message=prompt, mode=mode, thinking=thinking, model=model,
                             deliver_to=deliver_to, channel=channel,
                             delivery_mode=delivery_mode, timeout_s=timeout_s, monitor=monitor,
                             watchdog_after_s=watchdog_after_s, agent_id=agent_id)
    obj.wake(f"dispatch {label}")
    waiting = _gateway_note(obj)
    if as_json:
        emit_json({**dispatches.as_dict(row), **({"warning": waiting} if waiting else {})})
    else:
        click.echo(f"dispatched {row.label}: session {row.session_key}, run {row.run_id} queued")
        if waiting:
            click.echo(f"warning: {waiting}", err=True)


def _gateway_note(obj: CliContext) -> str | None:
    """What the run waits for when the gateway does not answer now (None: it answers)."""
    from clawsched.workers.gateway.client import client_for

    try:
        ready = client_for(obj.settings).ready(force=True)
    except Exception:
        ready = False
    return None if ready else (f"the gateway at {obj.settings.gateway_url} is not ready: the run is recorded and "
                               "waits for it (`clawsched status` shows the gateway)")


@click.group("dispatch")
def dispatch() -> None:
    """Follow and steer sessions started by `clawsched enqueue`."""


def _label(positional: str | None, option: str | None) -> str:
    from clawsched.sched.errors import SpecError

    if positional and option and positional != option:
        raise SpecError(f"two labels given ({positional!r} and --label {option!r}); give one", field="label")
    if not (positional or option):
        raise SpecError("a dispatch label is required: `clawsched dispatch status LABEL`", field="label")
    return str(positional or option)


@command(dispatch, "status")
@click.argument("label_arg", metavar="LABEL", required=False)
@click.option("--label", help="The same as LABEL.")
def dispatch_status(obj: CliContext, as_json: bool, label_arg: str | None, label: str | None) -> None:
    """A dispatch: session key, spawn time, status, last activity, and its run's status."""
    from clawsched.sched import dispatches, runs

    row = dispatches.get(obj.store, _label(label_arg, label))
    data = dispatches.as_dict(row)
    data["run_status"] = runs.get(obj.store, row.run_id).status if row.run_id else None
    show(as_json, data)


def _dispatches(obj: CliContext, as_json: bool, status: str | None) -> None:
    from clawsched.sched import dispatches

    rows = dispatches.list_all(obj.store, status)
    show(as_json, [dispatches.as_dict(d) for d in rows],
         [[d.label, d.status, d.spawned_at, d.last_activity_at, d.deliver_to] for d in rows],
         ["label", "status", "spawned", "last activity", "deliver to"])


@command(dispatch, "list")
@click.option("--status", type=click.Choice(["running", "done", "error"]))
def dispatch_list(obj: CliContext, as_json: bool, status: str | None) -> None:
    """Tracked dispatches, newest first."""
    _dispatches(obj, as_json, status)


@command(None, "list")
@click.option("--status", type=click.Choice(["running", "done", "error"]))
def list_sessions(obj: CliContext, as_json: bool, status: str | None) -> None:
    """The dispatched sessions, newest first (openclaw-scheduler's `list --status running`)."""
    _dispatches(obj, as_json, status)


list = list_sessions  # noqa: A001 - the root loads a command by its name; nothing here uses the builtin


@command(dispatch, "result")
@click.option("--label", required=True)
def dispatch_result(obj: CliContext, as_json: bool, label: str) -> None:
    """The session's last reply (or the summary it reported with `done`)."""
    from clawsched.sched import dispatches

    row = dispatches.get(obj.store, label)
    text = row.result or row.summary
    emit_json({"label": label, "status": row.status, "result": text}) if as_json else click.echo(text or "")


@command(dispatch, "done")
@click.option("--label", required=True)
@click.option("--summary", default=None, help="What was done; delivered to --deliver-to.")
@click.option("--error", "failed", is_flag=True, help="The work failed.")
def dispatch_done(obj: CliContext, as_json: bool, label: str, summary: str | None, failed: bool) -> None:
    """Agent-side completion signal: end the dispatch now; its summary is delivered once."""
    from clawsched.sched import dispatches

    moved = dispatches.finish(obj.store, label, summary, status="error" if failed else "done")
    obj.wake(f"dispatch {label} done")
    emit_json({"label": label, "changed": moved}) if as_json else click.echo(
        f"{label} {'marked ' + ('error' if failed else 'done') if moved else 'had already ended'}")


@command(dispatch, "send")
@click.option("--label", required=True)
@click.option("--message", required=True)
def dispatch_send(obj: CliContext, as_json: bool, label: str, message: str) -> None:
    """Steer a session: send MESSAGE into it as a new user turn and print the reply."""
    from clawsched.sched import dispatches
    from clawsched.workers.gateway.client import client_for

    row = dispatches.get(obj.store, label)
    dispatches.touch(obj.store, label)
    reply = client_for(obj.settings).chat(agent_id="main", message=message, session_key=row.session_key,
                                          model=row.model, timeout_s=float(row.timeout_s))
    dispatches.touch(obj.store, label)
    emit_json({"label": label, "reply": reply.content}) if as_json else click.echo(reply.content)


@command(dispatch, "heartbeat")
@click.option("--label", required=True)
def dispatch_heartbeat(obj: CliContext, as_json: bool, label: str) -> None:
    """Agent-side liveness signal: the session is still working, so the silence watchdog waits."""
    from clawsched.sched import dispatches

    dispatches.get(obj.store, label)  # an unknown label is NotFound, not a silent no-op
    dispatches.touch(obj.store, label)
    row = dispatches.get(obj.store, label)
    emit_json({"label": label, "last_activity_at": row.last_activity_at}) if as_json else click.echo(
        f"{label} heard from at {row.last_activity_at}")


@command(dispatch, "stuck")
@click.option("--threshold-min", type=float, default=10.0, show_default=True)
def dispatch_stuck(obj: CliContext, as_json: bool, threshold_min: float) -> None:
    """Running sessions silent past the threshold; exits 1 when there are any."""
    from clawsched.sched import dispatches

    rows = dispatches.stuck(obj.store, threshold_min * 60)
    show(as_json, [dispatches.as_dict(d) for d in rows], [[d.label, d.last_activity_at] for d in rows],
         ["label", "last activity"])
    if rows:
        sys.exit(1)
