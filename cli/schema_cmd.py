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


def _fields(table: object) -> dict[str, str]:
    return {c.key: str(c.type) for c in table.columns}  # type: ignore[attr-defined]


def _messages() -> dict[str, object]:
    from clawsched.sched.messages import KINDS
    from clawsched.sched.store.models import Message, MessageReceipt

    return {"kinds": list(KINDS), "statuses": ["pending", "delivered", "read", "expired", "failed"],
            "receipt_events": ["delivered", "read", "acked", "expired"], "fields": _fields(Message.__table__),
            "receipt_fields": _fields(MessageReceipt.__table__)}


def _approvals() -> dict[str, object]:
    from clawsched.sched.states import ApprovalStatus
    from clawsched.sched.store.models import Approval

    return {"statuses": [s.value for s in ApprovalStatus], "auto": ["approve", "reject"],
            "fields": _fields(Approval.__table__)}


def _dispatches() -> dict[str, object]:
    from clawsched.sched.store.models import Dispatch

    return {"statuses": ["running", "done", "error"], "modes": ["fresh", "reuse"],
            "delivery_modes": ["announce", "announce-always", "none"], "fields": _fields(Dispatch.__table__)}


@command(schema, "messages")
def schema_messages(obj: CliContext, as_json: bool) -> None:
    """Message kinds, statuses, receipt events and fields."""
    emit_json(_messages())


@command(schema, "approvals")
def schema_approvals(obj: CliContext, as_json: bool) -> None:
    """Approval statuses and fields."""
    emit_json(_approvals())


@command(schema, "dispatches")
def schema_dispatches(obj: CliContext, as_json: bool) -> None:
    """Dispatch (``clawsched enqueue``) statuses, modes and fields."""
    emit_json(_dispatches())


@command(schema, "all")
def schema_all(obj: CliContext, as_json: bool) -> None:
    """Every schema above in one object."""
    from clawsched.sched.specs import job_json_schema
    from clawsched.sched.states import TERMINAL, RunStatus
    from clawsched.sched.store.models import Run

    emit_json({"jobs": job_json_schema(),
               "runs": {"statuses": [s.value for s in RunStatus], "terminal": sorted(s.value for s in TERMINAL),
                        "fields": _fields(Run.__table__)},
               "messages": _messages(), "approvals": _approvals(), "dispatches": _dispatches()})
