"""``clawsched db ...``: database schema management."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json


@click.group("db")
def db() -> None:
    """Database schema management."""


@command(db, "upgrade")
def db_upgrade(obj: CliContext, as_json: bool) -> None:
    """Apply all migrations to the database in CLAWSCHED_DATABASE_URL."""
    from clawsched.sched.store import migrations
    from clawsched.sched.store.engine import Store

    revision = migrations.upgrade(Store(obj.settings.database_url))
    emit_json({"ok": True, "revision": revision}) if as_json else click.echo(f"database at revision {revision}")
