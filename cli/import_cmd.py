"""``clawsched import ...``: bring every job and its history over from openclaw-scheduler or OpenClaw cron.

Each prints one line per job (imported, updated, unchanged, refused with the field and the fix) and the
records beside the jobs; ``--json`` prints the report. A second run changes nothing and says so. Exit
code 0 when every job is here, 1 when any was refused (the others are imported all the same).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, table

DEFAULT_CRON_STORE = "~/.openclaw/cron/jobs.json"


@click.group("import")
def imports() -> None:
    """Import jobs and their run history from openclaw-scheduler or OpenClaw cron (docs/migration.md)."""


_dry_run = click.option("--dry-run", is_flag=True, help="Do every write and roll it back: report what would change.")


@command(imports, "openclaw-scheduler")
@click.argument("path", type=click.Path(path_type=Path))
@_dry_run
def import_scheduler(obj: CliContext, as_json: bool, path: Path, dry_run: bool) -> None:
    """Import a scheduler.db of openclaw-scheduler: jobs, chains, approvals, aliases, agents, messages,
    the idempotency ledger and every run."""
    from clawsched.sched.importing.scheduler_db import import_scheduler_db

    _print(obj, import_scheduler_db(obj.store, path.expanduser(), dry_run=dry_run), as_json)


@command(imports, "openclaw-cron")
@click.argument("path", type=click.Path(path_type=Path), default=DEFAULT_CRON_STORE)
@_dry_run
def import_cron(obj: CliContext, as_json: bool, path: Path, dry_run: bool) -> None:
    """Import OpenClaw's cron jobs.json (default ~/.openclaw/cron/jobs.json), with jobs-state.json and the
    runs/<jobId>.jsonl history beside it."""
    from clawsched.sched.importing.cron_store import import_cron_store

    _print(obj, import_cron_store(obj.store, path.expanduser(), dry_run=dry_run), as_json)


def _print(obj: CliContext, report: Any, as_json: bool) -> None:
    data = report.as_dict()
    if report.changed and not report.dry_run:
        obj.wake("jobs imported")
    if as_json:
        emit_json(data)
    else:
        table([(j["status"], j["id"], j["name"], j["runs_added"], j["reason"] or "") for j in data["jobs"]],
              ["status", "id", "name", "runs added", "why"])
        for name, counts in data["records"].items():
            click.echo(f"{name}: {counts['added']} added, {counts['changed']} changed, {counts['unchanged']} unchanged")
        for note in data["notes"]:
            click.echo(f"note: {note}")
        totals = data["totals"]
        verdict = "nothing changed" if not data["changed"] else ("would change" if data["dryRun"] else "changed")
        click.echo(f"{totals['imported']} imported, {totals['updated']} updated, {totals['unchanged']} unchanged, "
                   f"{totals['refused']} refused, {totals['runs_added']} runs added: {verdict}")
    if not report.ok:
        sys.exit(1)
