"""``clawsched agents ...``: the agents registry."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import show


@click.group("agents")
def agents() -> None:
    """The agents registry (status idle/busy/offline is kept by dispatch)."""


@command(agents, "list")
def agents_list(obj: CliContext, as_json: bool) -> None:
    """Every known agent."""
    from clawsched.sched import agents as svc

    rows = svc.list_all(obj.store)
    show(as_json, [svc.as_dict(a) for a in rows], [[a.id, a.name, a.status, a.last_seen_at] for a in rows],
         ["id", "name", "status", "last seen"])


@command(agents, "get")
@click.argument("agent_id")
def agents_get(obj: CliContext, as_json: bool, agent_id: str) -> None:
    """One agent."""
    from clawsched.sched import agents as svc

    show(as_json, svc.as_dict(svc.get(obj.store, agent_id)))


@command(agents, "register")
@click.argument("agent_id")
@click.argument("name", required=False)
def agents_register(obj: CliContext, as_json: bool, agent_id: str, name: str | None) -> None:
    """Register (or rename) AGENT_ID."""
    from clawsched.sched import agents as svc

    show(as_json, svc.as_dict(svc.register(obj.store, agent_id, name)))
