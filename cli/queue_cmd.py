"""``clawsched queue ...``: an agent's message queue as openclaw-scheduler's ``queue`` commands show it."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, table


@click.group("queue")
def queue() -> None:
    """An agent's message queue: what is pending or delivered, clearing it, pruning old messages."""


@command(queue, "list")
@click.argument("agent", default="main")
@click.argument("limit", type=click.IntRange(1, 10_000), default=50)
def queue_list(obj: CliContext, as_json: bool, agent: str, limit: int) -> None:
    """AGENT's open messages (pending and delivered), in the order its prompt takes them."""
    from clawsched.sched import messages

    rows = messages.inbox(obj.store, agent, limit)
    counts = {status: sum(1 for m in rows if m.status == status) for status in ("pending", "delivered")}
    if as_json:
        emit_json({"agent": agent, **counts, "messages": [messages.as_dict(m) for m in rows]})
        return
    click.echo(f"{agent}: {counts['pending']} pending, {counts['delivered']} delivered")
    table([(m.id, m.kind, m.priority, m.status, m.from_agent, m.subject or m.body) for m in rows],
          ["id", "kind", "priority", "status", "from", "text"])


@command(queue, "clear")
@click.argument("agent", default="main")
def queue_clear(obj: CliContext, as_json: bool, agent: str) -> None:
    """Mark every open message of AGENT read."""
    from clawsched.sched import messages

    changed = messages.readall(obj.store, agent)
    emit_json({"ok": True, "agent": agent, "changes": changed}) if as_json else click.echo(
        f"{changed} message(s) of {agent} marked read")


@command(queue, "prune")
@click.option("--days", type=click.IntRange(0, 36_500), default=7, show_default=True,
              help="Delete closed messages older than this.")
def queue_prune(obj: CliContext, as_json: bool, days: int) -> None:
    """Expire messages past their expiry, then delete read, acked and expired ones older than --days."""
    from clawsched.sched import messages

    removed = messages.prune(obj.store, older_than_days=days)
    emit_json({"ok": True, "pruned": removed}) if as_json else click.echo(f"pruned {removed} message(s)")
