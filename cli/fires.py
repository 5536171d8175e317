"""How ``clawsched jobs next`` and ``jobs add --dry-run`` print a fire preview: the next fires of a job in UTC
and in its zone, daylight-saving folds and gaps marked."""

from __future__ import annotations

from typing import Any

import click

from clawsched.cli.output import table


def print_fires(found: dict[str, Any]) -> None:
    """The fires as a table, with the note and the stagger when there is one."""
    if found["note"]:
        click.echo(found["note"])
    if found["stagger_s"]:
        click.echo(f"stagger: +{found['stagger_s']:g}s on every fire")
    table([(f["utc"], f"{f['local']} {f['abbrev']}", f"{f['mark']}: {f['note']}" if f["mark"] else "")
           for f in found["fires"]], ["utc", f"local ({found['tz']})", "dst"])
