"""``clawsched alias ...``: delivery aliases, '@name' as a job's delivery_to."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show


@click.group("alias")
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
    show(as_json, [aliases.as_dict(a) for a in rows],
         [[f"@{a.name}", a.channel, a.target, a.description] for a in rows],
         ["alias", "channel", "target", "description"])


@command(alias, "remove")
@click.argument("name")
def alias_remove(obj: CliContext, as_json: bool, name: str) -> None:
    """Delete alias NAME (jobs using it then fail their delivery visibly)."""
    from clawsched.sched import aliases

    aliases.remove(obj.store, name)
    emit_json({"ok": True, "removed": name}) if as_json else click.echo(f"removed @{name.lstrip('@')}")
