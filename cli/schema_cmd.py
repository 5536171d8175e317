"""``clawsched schema ...``: the JSON schemas of job specs and run records."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json


@click.group("schema")
def schema() -> None:
    """JSON schemas of job specs and run records."""


@command(schema, "jobs")
def schema_jobs(obj: CliContext, as_json: bool) -> None:
    """The job spec's JSON schema (fields, types, defaults, enums)."""
    from clawsched.sched.specs import job_json_schema

    emit_json(job_json_schema())


@command(schema, "runs")
def schema_runs(obj: CliContext, as_json: bool) -> None:
    """Run statuses and the fields of a run record."""
    from clawsched.sched.states import TERMINAL, RunStatus
    from clawsched.sched.store.models import Run

    emit_json({
        "statuses": [s.value for s in RunStatus],
        "terminal": sorted(s.value for s in TERMINAL),
        "fields": {c.key: str(c.type) for c in Run.__table__.columns},
    })
