"""``clawsched backup FILE`` and ``clawsched restore FILE``: the whole database, portable across dialects
(``sched.backups``; docs/fleet.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json

URL_HELP = "The database (default CLAWSCHED_DATABASE_URL)."


@command(None, "backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database-url", help=URL_HELP)
def backup(obj: CliContext, as_json: bool, dest: Path, database_url: str | None) -> None:
    """Write every job, run, output chunk and ledger row to DEST (one consistent snapshot, gzip'd JSON)."""
    from clawsched.sched import backups
    from clawsched.sched.store.engine import Store

    store = Store(database_url) if database_url else obj.store
    _report("backed up", backups.backup(store, dest), as_json)


@command(None, "restore")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database-url", help=URL_HELP)
def restore(obj: CliContext, as_json: bool, src: Path, database_url: str | None) -> None:
    """Load the backup SRC into an empty database (SQLite or PostgreSQL, whichever made SRC); its schema is
    created when it has none. Checked against the file before it commits: all of it or nothing."""
    from clawsched.sched import backups
    from clawsched.sched.store.engine import Store

    _report("restored", backups.restore(Store(database_url or obj.settings.database_url), src), as_json)


def _report(verb: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({"ok": True, **result})
        return
    tables = result["tables"]
    total = sum(t["rows"] for t in tables.values())
    shown = ", ".join(f"{name} {t['rows']}" for name, t in tables.items() if t["rows"])
    click.echo(f"{verb} {total} rows at schema revision {result['revision']}: {result['file']}")
    click.echo(f"  {shown or 'no rows'}")
