"""``clawsched msg|agents|tasks|alias|enqueue|dispatch``: messages, the agents registry, task trackers,
delivery aliases and sub-agent dispatch."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from clawsched.cli.context import CliContext
from clawsched.cli.main import _load_json, cli, command
from clawsched.cli.output import emit_json, table


def _show(as_json: bool, data: Any, rows: list[list[Any]] | None = None, headers: list[str] | None = None) -> None:
    if as_json:
        emit_json(data)
    elif rows is not None and headers is not None:
        table(rows, headers)
    else:
        for key, value in (data.items() if isinstance(data, dict) else []):
            click.echo(f"{key:>18}: {value}")


# ------------------------------------------------------------------------------------------- messages


@cli.group("msg")
def msg() -> None:
    """The inter-agent message queue (priorities, threads, receipts, TTL, broadcast)."""


@command(msg, "send")
@click.argument("from_agent")
@click.argument("to_agent")
@click.argument("body")
@click.option("--subject")
@click.option("--kind", default="text", show_default=True)
@click.option("--priority", type=int, default=0, show_default=True, help="0 normal, 1 high, 2 urgent")
@click.option("--reply-to")
@click.option("--metadata", help="A JSON object.")
@click.option("--owner")
@click.option("--channel")
@click.option("--ttl", type=float, help="Seconds until the message expires unread.")
@click.option("--job-id")
@click.option("--run-id")
def msg_send(obj: CliContext, as_json: bool, from_agent: str, to_agent: str, body: str, subject: str | None,
             kind: str, priority: int, reply_to: str | None, metadata: str | None, owner: str | None,
             channel: str | None, ttl: float | None, job_id: str | None, run_id: str | None) -> None:
    """Send BODY from FROM_AGENT to TO_AGENT ('broadcast' reaches every agent; kind 'spawn' to
    'scheduler' creates a job from a JSON spec body)."""
    from clawsched.sched import messages

    meta = _load_json(metadata, "metadata") if metadata else None
    m = messages.send(obj.store, from_agent, to_agent, body, subject=subject, kind=kind, priority=priority,
                      reply_to=reply_to, metadata=meta, owner=owner, channel=channel, ttl_s=ttl, job_id=job_id,
                      run_id=run_id)
    if kind == "spawn":
        obj.wake("spawn message")
    emit_json(messages.as_dict(m)) if as_json else click.echo(m.id)


def _messages(as_json: bool, rows: list[Any]) -> None:
    from clawsched.sched import messages

    _show(as_json, [messages.as_dict(m) for m in rows],
          [[m.id[:12], m.priority, m.kind, m.from_agent, m.to_agent, m.status, m.subject or m.body] for m in rows],
          ["id", "pri", "kind", "from", "to", "status", "subject/body"])


@command(msg, "inbox")
@click.argument("agent")
@click.argument("limit", type=int, default=50)
@click.option("--all", "include_read", is_flag=True, help="Include read messages.")
def msg_inbox(obj: CliContext, as_json: bool, agent: str, limit: int, include_read: bool) -> None:
    """Messages for AGENT (direct and broadcast), urgent first."""
    from clawsched.sched import messages

    _messages(as_json, messages.inbox(obj.store, agent, limit, include_read=include_read))


@command(msg, "outbox")
@click.argument("agent")
@click.argument("limit", type=int, default=50)
def msg_outbox(obj: CliContext, as_json: bool, agent: str, limit: int) -> None:
    """Messages AGENT sent, newest first."""
    from clawsched.sched import messages

    _messages(as_json, messages.outbox(obj.store, agent, limit))


@command(msg, "unread")
@click.argument("agent")
def msg_unread(obj: CliContext, as_json: bool, agent: str) -> None:
    """Pending and delivered (not yet read) messages for AGENT."""
    from clawsched.sched import messages

    _messages(as_json, messages.unread(obj.store, agent))


@command(msg, "thread")
@click.argument("message_id")
def msg_thread(obj: CliContext, as_json: bool, message_id: str) -> None:
    """The conversation MESSAGE_ID belongs to (reply_to links), oldest first."""
    from clawsched.sched import messages

    _messages(as_json, messages.thread(obj.store, message_id))


@command(msg, "read")
@click.argument("message_id")
@click.option("--agent", help="Reader (needed for broadcasts).")
def msg_read(obj: CliContext, as_json: bool, message_id: str, agent: str | None) -> None:
    """Mark MESSAGE_ID read."""
    from clawsched.sched import messages

    m = messages.read(obj.store, message_id, agent)
    emit_json(messages.as_dict(m)) if as_json else click.echo(f"{m.id} {m.status}")


@command(msg, "ack")
@click.argument("message_id")
@click.argument("actor", required=False)
@click.argument("note", required=False)
def msg_ack(obj: CliContext, as_json: bool, message_id: str, actor: str | None, note: str | None) -> None:
    """Acknowledge MESSAGE_ID (read, plus an acked receipt)."""
    from clawsched.sched import messages

    m = messages.ack(obj.store, message_id, actor, note)
    emit_json(messages.as_dict(m)) if as_json else click.echo(f"{m.id} acked")


@command(msg, "readall")
@click.argument("agent")
def msg_readall(obj: CliContext, as_json: bool, agent: str) -> None:
    """Mark every open message of AGENT read."""
    from clawsched.sched import messages

    n = messages.readall(obj.store, agent)
    emit_json({"read": n}) if as_json else click.echo(f"{n} messages marked read")


@command(msg, "receipts")
@click.argument("message_id")
@click.argument("limit", type=int, default=100)
def msg_receipts(obj: CliContext, as_json: bool, message_id: str, limit: int) -> None:
    """The receipts of MESSAGE_ID (delivered, read, acked, expired), oldest first."""
    from clawsched.sched import messages

    rows = [messages.receipt_dict(r) for r in messages.receipts(obj.store, message_id, limit)]
    _show(as_json, rows, [[r["at"], r["event"], r["agent_id"], r["actor"], r["note"]] for r in rows],
          ["at", "event", "agent", "actor", "note"])


# --------------------------------------------------------------------------------------------- agents


@cli.group("agents")
def agents_group() -> None:
    """The agents registry (status idle/busy/offline is kept by dispatch)."""


@command(agents_group, "list")
def agents_list(obj: CliContext, as_json: bool) -> None:
    """Every known agent."""
    from clawsched.sched import agents

    rows = agents.list_all(obj.store)
    _show(as_json, [agents.as_dict(a) for a in rows], [[a.id, a.name, a.status, a.last_seen_at] for a in rows],
          ["id", "name", "status", "last seen"])


@command(agents_group, "get")
@click.argument("agent_id")
def agents_get(obj: CliContext, as_json: bool, agent_id: str) -> None:
    """One agent."""
    from clawsched.sched import agents

    _show(as_json, agents.as_dict(agents.get(obj.store, agent_id)))


@command(agents_group, "register")
@click.argument("agent_id")
@click.argument("name", required=False)
def agents_register(obj: CliContext, as_json: bool, agent_id: str, name: str | None) -> None:
    """Register (or rename) AGENT_ID."""
    from clawsched.sched import agents

    _show(as_json, agents.as_dict(agents.register(obj.store, agent_id, name)))


# ------------------------------------------------------------------------------------------- trackers


@cli.group("tasks")
def tasks() -> None:
    """Task trackers: a dead-man's switch over a team of sub-agents."""


@command(tasks, "create")
@click.argument("spec")
def tasks_create(obj: CliContext, as_json: bool, spec: str) -> None:
    """Create a tracker from JSON: name, expected_agents, timeout_s, delivery_channel, delivery_to
    (camelCase accepted)."""
    from clawsched.sched import task_trackers as trackers

    t = trackers.create(obj.store, _load_json(spec, "tracker spec"))
    emit_json(trackers.as_dict(t)) if as_json else click.echo(t.id)


def _trackers(as_json: bool, rows: list[Any]) -> None:
    from clawsched.sched import task_trackers as trackers

    _show(as_json, [trackers.as_dict(t) for t in rows],
          [[t.id[:12], t.name, t.status, t.timeout_s, t.created_at, t.completed_at] for t in rows],
          ["id", "name", "status", "timeout", "created", "completed"])


@command(tasks, "list")
def tasks_list(obj: CliContext, as_json: bool) -> None:
    """Active trackers."""
    from clawsched.sched import task_trackers as trackers

    _trackers(as_json, trackers.list_active(obj.store))


@command(tasks, "history")
@click.argument("limit", type=int, default=20)
def tasks_history(obj: CliContext, as_json: bool, limit: int) -> None:
    """Trackers that ended, newest first."""
    from clawsched.sched import task_trackers as trackers

    _trackers(as_json, trackers.history(obj.store, limit))


@command(tasks, "status")
@click.argument("tracker_id")
def tasks_status(obj: CliContext, as_json: bool, tracker_id: str) -> None:
    """A tracker and each expected agent's state."""
    from clawsched.sched import task_trackers as trackers

    tracker, agents = trackers.status(obj.store, tracker_id)
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

    a = trackers.heartbeat(obj.store, tracker_id, label, status, message)
    emit_json({"label": a.label, "status": a.status}) if as_json else click.echo(f"{a.label} {a.status}")


# -------------------------------------------------------------------------------------------- aliases


@cli.group("alias")
def alias() -> None:
    """Delivery aliases: use '@name' as a job's delivery_to."""


@command(alias, "add")
@click.argument("name")
@click.argument("channel")
@click.argument("target")
@click.argument("description", required=False)
def alias_add(obj: CliContext, as_json: bool, name: str, channel: str, target: str, description: str | None) -> None:
    """Create or replace alias NAME -> CHANNEL TARGET."""
    from clawsched.sched import aliases

    row = aliases.add(obj.store, name, channel, target, description)
    emit_json(aliases.as_dict(row)) if as_json else click.echo(f"@{row.name} -> {row.channel} {row.target}")


@command(alias, "list")
def alias_list(obj: CliContext, as_json: bool) -> None:
    """All aliases."""
    from clawsched.sched import aliases

    rows = aliases.list_all(obj.store)
    _show(as_json, [aliases.as_dict(a) for a in rows],
          [[f"@{a.name}", a.channel, a.target, a.description] for a in rows],
          ["alias", "channel", "target", "description"])


@command(alias, "remove")
@click.argument("name")
def alias_remove(obj: CliContext, as_json: bool, name: str) -> None:
    """Delete alias NAME (jobs using it then fail their delivery visibly)."""
    from clawsched.sched import aliases

    aliases.remove(obj.store, name)
    emit_json({"ok": True, "removed": name}) if as_json else click.echo(f"removed @{name.lstrip('@')}")


# ------------------------------------------------------------------------------------------- dispatch


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


@command(cli, "enqueue")
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
@click.option("--timeout", "timeout_s", type=int, default=300, show_default=True, help="Session budget, seconds.")
@click.option("--monitor/--no-monitor", default=True, help="Arm the silence watchdog (needs --deliver-to).")
@click.option("--watchdog-after", "watchdog_after_s", type=int, default=3600, show_default=True,
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
    if as_json:
        emit_json(dispatches.as_dict(row))
    else:
        click.echo(f"dispatched {row.label}: session {row.session_key}, run {row.run_id}")


@cli.group("dispatch")
def dispatch() -> None:
    """Follow and steer sessions started by `clawsched enqueue`."""


@command(dispatch, "status")
@click.option("--label", required=True)
def dispatch_status(obj: CliContext, as_json: bool, label: str) -> None:
    """A dispatch: session key, spawn time, status, last activity, and its run's status."""
    from clawsched.sched import dispatches, runs

    row = dispatches.get(obj.store, label)
    data = dispatches.as_dict(row)
    data["run_status"] = runs.get(obj.store, row.run_id).status if row.run_id else None
    _show(as_json, data)


@command(dispatch, "list")
@click.option("--status", type=click.Choice(["running", "done", "error"]))
def dispatch_list(obj: CliContext, as_json: bool, status: str | None) -> None:
    """Tracked dispatches, newest first."""
    from clawsched.sched import dispatches

    rows = dispatches.list_all(obj.store, status)
    _show(as_json, [dispatches.as_dict(d) for d in rows],
          [[d.label, d.status, d.spawned_at, d.last_activity_at, d.deliver_to] for d in rows],
          ["label", "status", "spawned", "last activity", "deliver to"])


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


@command(dispatch, "stuck")
@click.option("--threshold-min", type=float, default=10.0, show_default=True)
def dispatch_stuck(obj: CliContext, as_json: bool, threshold_min: float) -> None:
    """Running sessions silent past the threshold; exits 1 when there are any."""
    from clawsched.sched import dispatches

    rows = dispatches.stuck(obj.store, threshold_min * 60)
    _show(as_json, [dispatches.as_dict(d) for d in rows], [[d.label, d.last_activity_at] for d in rows],
          ["label", "last activity"])
    if rows:
        sys.exit(1)
