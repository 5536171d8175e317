"""``clawsched msg ...``: the inter-agent message queue."""

from __future__ import annotations

from typing import Any

import click

from clawsched.cli.command import command, load_json
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show


@click.group("msg")
def msg() -> None:
    """The inter-agent message queue (priorities, threads, receipts, TTL, broadcast)."""


@command(msg, "send")
@click.argument("from_agent")
@click.argument("to_agent")
@click.argument("body")
@click.option("--subject")
@click.option("--kind", default="text", show_default=True)
@click.option("--priority", type=click.IntRange(0, 2), default=0, show_default=True, help="0 normal, 1 high, 2 urgent")
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

    meta = load_json(metadata, "metadata") if metadata else None
    m = messages.send(obj.store, from_agent, to_agent, body, subject=subject, kind=kind, priority=priority,
                      reply_to=obj.resolve_opt("message", reply_to), metadata=meta, owner=owner, channel=channel,
                      ttl_s=ttl,
                      job_id=obj.resolve_opt("job", job_id),
                      run_id=obj.resolve_opt("run", run_id))
    if kind == "spawn":
        obj.wake("spawn message")
    emit_json(messages.as_dict(m)) if as_json else click.echo(m.id)


def _messages(as_json: bool, rows: list[Any]) -> None:
    from clawsched.sched import messages

    show(as_json, [messages.as_dict(m) for m in rows],
         [[m.id[:12], m.priority, m.kind, m.from_agent, m.to_agent, m.status, m.subject or m.body] for m in rows],
         ["id", "pri", "kind", "from", "to", "status", "subject/body"])


@command(msg, "inbox")
@click.argument("agent")
@click.argument("limit", type=click.IntRange(1, 10_000), default=50)
@click.option("--all", "include_read", is_flag=True, help="Include read messages.")
def msg_inbox(obj: CliContext, as_json: bool, agent: str, limit: int, include_read: bool) -> None:
    """Messages for AGENT (direct and broadcast), urgent first."""
    from clawsched.sched import messages

    _messages(as_json, messages.inbox(obj.store, agent, limit, include_read=include_read))


@command(msg, "outbox")
@click.argument("agent")
@click.argument("limit", type=click.IntRange(1, 10_000), default=50)
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

    _messages(as_json, messages.thread(obj.store, obj.resolve("message", message_id)))


@command(msg, "read")
@click.argument("message_id")
@click.option("--agent", help="Reader (needed for broadcasts).")
def msg_read(obj: CliContext, as_json: bool, message_id: str, agent: str | None) -> None:
    """Mark MESSAGE_ID read."""
    from clawsched.sched import messages

    m = messages.read(obj.store, obj.resolve("message", message_id), agent)
    emit_json(messages.as_dict(m)) if as_json else click.echo(f"{m.id} {m.status}")


@command(msg, "ack")
@click.argument("message_id")
@click.argument("actor", required=False)
@click.argument("note", required=False)
def msg_ack(obj: CliContext, as_json: bool, message_id: str, actor: str | None, note: str | None) -> None:
    """Acknowledge MESSAGE_ID (read, plus an acked receipt)."""
    from clawsched.sched import messages

    m = messages.ack(obj.store, obj.resolve("message", message_id), actor, note)
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
@click.argument("limit", type=click.IntRange(1, 10_000), default=100)
def msg_receipts(obj: CliContext, as_json: bool, message_id: str, limit: int) -> None:
    """The receipts of MESSAGE_ID (delivered, read, acked, expired), oldest first."""
    from clawsched.sched import messages

    rows = [messages.receipt_dict(r) for r in messages.receipts(obj.store, obj.resolve("message", message_id), limit)]
    show(as_json, rows, [[r["at"], r["event"], r["agent_id"], r["actor"], r["note"]] for r in rows],
         ["at", "event", "agent", "actor", "note"])
