"""``clawsched tasks ...``: task trackers, a dead-man's switch over a team of sub-agents."""

from __future__ import annotations

from typing import Any

import click

from clawsched.cli.command import command, load_json
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show, table


@click.group("tasks")
def tasks() -> None:
    """Task trackers: a dead-man's switch over a team of sub-agents."""


@command(tasks, "create")
@click.argument("spec")
def tasks_create(obj: CliContext, as_json: bool, spec: str) -> None:
    """Create a tracker from JSON: name, expected_agents, timeout_s, delivery_channel, delivery_to
    (camelCase accepted)."""
    from clawsched.sched import task_trackers as trackers

    t = trackers.create(obj.store, load_json(spec, "tracker spec"))
    emit_json(trackers.as_dict(t)) if as_json else click.echo(t.id)


def _trackers(as_json: bool, rows: list[Any]) -> None:
    from clawsched.sched import task_trackers as trackers

    show(as_json, [trackers.as_dict(t) for t in rows],
         [[t.id[:12], t.name, t.status, t.timeout_s, t.created_at, t.completed_at] for t in rows],
         ["id", "name", "status", "timeout", "created", "completed"])


@command(tasks, "list")
def tasks_list(obj: CliContext, as_json: bool) -> None:
    """Active trackers."""
    from clawsched.sched import task_trackers as trackers

    _trackers(as_json, trackers.list_active(obj.store))


@command(tasks, "history")
@click.argument("limit", type=click.IntRange(1, 10_000), default=20)
def tasks_history(obj: CliContext, as_json: bool, limit: int) -> None:
    """Trackers that ended, newest first."""
    from clawsched.sched import task_trackers as trackers

    _trackers(as_json, trackers.history(obj.store, limit))


@command(tasks, "status")
@click.argument("tracker_id")
def tasks_status(obj: CliContext, as_json: bool, tracker_id: str) -> None:
    """A tracker and each expected agent's state."""
    from clawsched.sched import task_trackers as trackers

    tracker, agents = trackers.status(obj.store, obj.resolve("tracker", tracker_id))
    if as_json:
        emit_json(trackers.as_dict(tracker, agents))
        return
    click.echo(f"{tracker.name} [{tracker.status}] timeout {tracker.timeout_s}s")
    table([[a.label, a.status, a.last_heartbeat, a.message] for a in agents],
          ["agent", "status", "heartbeat", "message"])


@command(tasks, "heartbeat")
@click.argument("tracker_id")
@click.argument("label")
@click.argument("status", type=click.Choice(["running", "completed", "failed"]))
@click.argument("message", required=False)
def tasks_heartbeat(obj: CliContext, as_json: bool, tracker_id: str, label: str, status: str,
                    message: str | None) -> None:
    """Report LABEL's progress on TRACKER_ID."""
    from clawsched.sched import task_trackers as trackers

    a = trackers.heartbeat(obj.store, obj.resolve("tracker", tracker_id), label, status, message)
    emit_json({"label": a.label, "status": a.status}) if as_json else click.echo(f"{a.label} {a.status}")


@command(tasks, "register-session")
@click.argument("tracker_id")
@click.argument("label")
@click.argument("session_key")
def tasks_register_session(obj: CliContext, as_json: bool, tracker_id: str, label: str, session_key: str) -> None:
    """Tie LABEL to its agent session SESSION_KEY: it counts as running and as heard from now."""
    from clawsched.sched import task_trackers as trackers

    a = trackers.register_session(obj.store, obj.resolve("tracker", tracker_id), label, session_key)
    emit_json({"label": a.label, "status": a.status, "session_key": a.session_key}) if as_json else click.echo(
        f"{a.label} {a.status} (session {a.session_key})")
