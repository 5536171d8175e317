"""The shapes the REST resources answer with: the OpenAPI document's schemas and FastAPI's response checks.

A record (job, run, approval, agent, message, alias) is described by its table: ``row_model`` reads the
columns (type, nullability) so a column a migration adds appears in the API without a second list to keep
in step. Every answer is an object with ``ok``: ``true`` here, ``false`` in ``ErrorOut`` (``api/errors``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import JSON, Boolean, Integer, Table
from sqlalchemy.types import TypeEngine

from clawsched.sched.store.audit_log import JOB_AUDIT
from clawsched.sched.store.columns import UTCDateTime
from clawsched.sched.store.tables import AGENTS, APPROVALS, DELIVERY_ALIASES, JOBS, MESSAGES, RUNS


def _python_type(sql_type: TypeEngine[Any]) -> Any:
    if isinstance(sql_type, UTCDateTime):
        return datetime
    if isinstance(sql_type, Boolean):
        return bool
    if isinstance(sql_type, Integer):
        return int
    if isinstance(sql_type, JSON):
        return Any
    return str


def row_model(name: str, table: Table, doc: str) -> type[BaseModel]:
    """A response model with one required field per column of ``table`` (``null`` where it is nullable)."""
    fields: dict[str, Any] = {}
    for column in table.columns:
        kind = _python_type(column.type)
        if column.nullable and kind is not Any:
            kind = kind | None
        fields[column.key] = (kind, Field(description=column.comment) if column.comment else ...)
    model: type[BaseModel] = create_model(name, __doc__=doc, **fields)
    return model


Job = row_model("Job", JOBS, "A job: its spec in flat form (openclaw-scheduler's names) and its scheduling "
                             "state. Instants are ISO-8601 UTC; the delivery secret is shown as `***`.")
Run = row_model("Run", RUNS, "One run of a job: status, timing, where it ran, its outcome and its lineage links "
                             "(`triggered_by_run`, `retry_of`, `replay_of`).")
Approval = row_model("Approval", APPROVALS, "An approval gate on one run: who decided, when and why.")
Agent = row_model("Agent", AGENTS, "A registered agent and what it is doing (idle, busy, offline).")
Message = row_model("Message", MESSAGES, "An inter-agent message (direct, or `broadcast`).")
AuditEntry = row_model("AuditEntry", JOB_AUDIT, "One change to a job: action, actor, source (cli, api, agent, "
                       "importer, apply, scheduler), instant, and the field diff `{field: [before, after]}`.")
Alias = row_model("Alias", DELIVERY_ALIASES, "A delivery alias: `@name` in a job's `delivery_to`.")


class Ok(BaseModel):
    ok: Literal[True] = True


class Paged(Ok):
    total: int = Field(description="How many records match the filters, over every page.")
    limit: int
    offset: int


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="What went wrong: the error's class (`NotFound`, `SpecError`, `Conflict`, "
                                  "...) or an HTTP name (`unauthorized`, `invalid`, `too_large`).")
    message: str = Field(description="A sentence naming the object and, where there is one, the field.")
    field: str | None = Field(description="The request field at fault, when one is.")


class ErrorOut(BaseModel):
    """Every error the API answers, whatever the route."""

    ok: Literal[False] = False
    error: ErrorDetail


ERROR_TEXT = {
    400: "The request body is not JSON.",
    401: "No valid API token (missing and wrong tokens get the same answer).",
    404: "The object named in the path does not exist.",
    409: "The object is not in a state that allows this (already resolved, already exists, ...).",
    413: "The request body is over the limit.",
    422: "The request is not valid; `error.field` names the field.",
}


def errors(*codes: int, body: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for routes that can answer with these error statuses, in the one error shape; a route
    that takes a body can also answer 400 (not JSON) and 413 (too large)."""
    return {code: {"model": ErrorOut, "description": ERROR_TEXT[code]}
            for code in sorted({*codes, *((400, 413) if body else ())})}


class JobOut(Ok):
    job: Job  # type: ignore[valid-type]


class FireOut(BaseModel):
    utc: str = Field(description="The fire instant, ISO-8601 UTC.")
    local: str = Field(description="The same instant in the job's zone, with its offset.")
    zone: str
    abbrev: str | None = Field(description="The zone's abbreviation at that instant (EDT, EST, ...).")
    mark: Literal["fold", "gap"] | None = Field(description="fold: the wall time happens twice that day; gap: "
                                                          "it does not exist and the fire is moved after the gap.")
    note: str | None


class Preview(BaseModel):
    job_id: str
    tz: str
    from_: str = Field(alias="from", description="The instant the preview starts from (UTC).")
    stagger_s: float = Field(description="The job's stagger, already added to every fire.")
    note: str | None
    fires: list[FireOut]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class PreviewOut(Ok, Preview):
    pass


class JobSaved(JobOut):
    dryRun: bool = Field(description="True when nothing was saved: the job as it would be.")
    preview: Preview | None = Field(default=None, description="A dry run's first fires, from now.")


class JobList(Paged):
    jobs: list[Job]  # type: ignore[valid-type]


class JobHistory(Paged):
    jobId: str
    history: list[AuditEntry]  # type: ignore[valid-type]


class Deleted(Ok):
    deleted: int = Field(description="How many jobs went: the job and its descendants (chains cascade).")


class Enqueued(Ok):
    enqueued: Literal[True] = True
    runId: str
    beatWoken: bool = Field(description="Whether the run was sent to the workers at once (else the beats send it "
                                        "within their max interval).")


class Cancelled(Ok):
    cancelledJobs: list[str]
    cancelledRuns: list[str]
    stoppedRuns: list[str] = Field(description="Cancelled runs that were running: their workers stop them.")


class JobNode(BaseModel):
    """A job in a chain tree, with the jobs its runs trigger."""

    id: str
    name: str
    enabled: bool
    trigger_on: str | None
    trigger_delay_s: int
    trigger_condition: str | None
    agent_id: str
    session_target: str
    approval_required: bool
    children: list[JobNode]


class JobTree(Ok):
    trees: list[JobNode]


class RunOut(Ok):
    run: Run  # type: ignore[valid-type]


class RunList(Paged):
    runs: list[Run]  # type: ignore[valid-type]


class RunOutput(Ok):
    runId: str
    stream: Literal["stdout", "stderr"]
    bytes: int = Field(description="Length of the output in UTF-8 bytes.")
    output: str = Field(description="The whole stream, including output offloaded to the database (or a file).")


class LineageNode(BaseModel):
    """A run in a lineage tree; ``relation`` says how it follows from its parent node."""

    model_config = ConfigDict(extra="allow")

    id: str
    job_id: str
    job_name: str
    status: str
    trigger: str
    relation: Literal["root", "retry", "replay", "chain"]
    retry_count: int
    chain_depth: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    focus: bool = Field(description="True for the run that was asked about.")
    truncated: bool = Field(default=False, description="True when the tree was cut here (over 500 runs).")
    children: list[LineageNode]


class Lineage(Ok):
    run_id: str
    root: str
    ancestors: list[str] = Field(description="The asked-for run's ancestors, nearest first.")
    tree: LineageNode


class ApprovalOut(Ok):
    approval: Approval  # type: ignore[valid-type]


class ApprovalList(Paged):
    approvals: list[Approval]  # type: ignore[valid-type]


class MessageOut(Ok):
    message: Message  # type: ignore[valid-type]


class Receipt(BaseModel):
    event: str
    agent_id: str
    actor: str | None
    note: str | None
    at: datetime


class MessageDetail(MessageOut):
    receipts: list[Receipt]


class MessageList(Ok):
    messages: list[Message]  # type: ignore[valid-type]


class AgentOut(Ok):
    agent: Agent  # type: ignore[valid-type]


class AgentList(Ok):
    agents: list[Agent]  # type: ignore[valid-type]


class AliasOut(Ok):
    alias: Alias  # type: ignore[valid-type]


class AliasList(Ok):
    aliases: list[Alias]  # type: ignore[valid-type]


class Removed(Ok):
    removed: str
