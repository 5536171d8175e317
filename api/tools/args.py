"""The arguments of each tool as a pydantic model: one definition gives the JSON schema ``GET /v1/tools``
shows and the validation ``POST /v1/tools/invoke`` applies, whose errors name the argument.

Job objects (``cron.add``'s ``job``, ``cron.update``'s ``patch``) are only shaped here; ``sched.specs``
validates them, as it does for the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from clawsched.sched.errors import SpecError
from clawsched.sched.specs.cron_tool import CONTROL_KEYS

from .schemas import CRON_JOB, CRON_PATCH


class Args(BaseModel):
    """Strict: an argument the tool does not know is refused with its name (a typo is not ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class JobArgs(Args):
    """Arguments that may carry job fields beside them (flat-params recovery)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


def _job_id(description: str = "The job's id (`id` is accepted too)") -> Any:
    return Field(validation_alias=AliasChoices("jobId", "id"), min_length=1, max_length=64, description=description)


Limit = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0, le=1_000_000_000)]


class NoArgs(Args):
    pass


class CronList(Args):
    includeDisabled: bool = Field(False, description="Also list disabled jobs (one-shots that already ran are)")
    limit: Limit = 100
    offset: Offset = 0


class CronAdd(JobArgs):
    job: Annotated[dict[str, Any] | None, WithJsonSchema(CRON_JOB)] = None


class CronUpdate(JobArgs):
    jobId: str = _job_id()
    patch: Annotated[dict[str, Any] | None, WithJsonSchema(CRON_PATCH)] = None


class JobRef(Args):
    jobId: str = _job_id()


class CronRun(Args):
    jobId: str = _job_id()
    runMode: Literal["force", "due"] = Field("force", validation_alias=AliasChoices("runMode", "mode"),
                                             description="force: run now; due: only if the job is due")


class CronRuns(Args):
    jobId: str = _job_id()
    limit: Limit = 20
    offset: Offset = 0


class CronWake(Args):
    text: str = Field(min_length=1, max_length=100_000, description="The system event for the main session")
    mode: Literal["now", "next-heartbeat"] = Field("next-heartbeat", description="Wake at once, or on the "
                                                   "agent's next heartbeat")
    agentId: str = Field("main", min_length=1, max_length=128)


class HeartbeatFields(Args):
    name: str | None = Field(None, min_length=1, max_length=256)
    agentId: str | None = Field(None, min_length=1, max_length=128)
    every: int | str | None = Field(None, description="Interval: milliseconds, or '30m', '1h', '90s'",
                                    validation_alias=AliasChoices("every", "everyMs"))
    text: str | None = Field(None, min_length=1, max_length=100_000,
                             validation_alias=AliasChoices("text", "message", "prompt"),
                             description="The system event the main session receives at each beat")
    wakeMode: Literal["now", "next-heartbeat"] | None = None
    enabled: bool | None = None


class HeartbeatAdd(HeartbeatFields):
    id: str | None = Field(None, min_length=1, max_length=64, description="Optional id for the rule")


class HeartbeatUpdate(HeartbeatFields):
    jobId: str = _job_id("The heartbeat rule's id (`id` is accepted too)")


class ProactiveRuns(Args):
    limit: Limit = 50
    offset: Offset = 0
    jobId: str | None = Field(None, max_length=64, description="Only this job's runs")
    status: list[str] | str | None = Field(None, description="One status or a list (ok, error, running, ...)")
    since: datetime | None = Field(None, description="Runs created at or after this ISO-8601 instant")


class ApprovalsList(Args):
    status: Literal["pending", "approved", "rejected", "expired", "all"] = "pending"
    jobId: str | None = Field(None, max_length=64)
    limit: Limit = 100
    offset: Offset = 0


class ApprovalDecision(Args):
    jobId: str | None = Field(None, max_length=64, description="Decide this job's oldest pending approval")
    approvalId: str | None = Field(None, max_length=64, description="Decide this approval")
    reason: str | None = Field(None, max_length=2000)
    by: str = Field("api", min_length=1, max_length=128, description="Who decided (recorded on the approval)")


class RunRef(Args):
    runId: str = Field(validation_alias=AliasChoices("runId", "id"), min_length=1, max_length=64)


def parse(model: type[Args], raw: Mapping[str, Any]) -> Any:
    """``raw`` validated as ``model``; the cron tool's control keys are dropped first. Errors name the field."""
    data = {k: v for k, v in raw.items() if k not in CONTROL_KEYS}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "args"
        message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            message = f"unknown argument; this tool takes {', '.join(sorted(_argument_names(model))) or 'none'}"
        raise SpecError(f"{field}: {message}", field=field) from None


def _argument_names(model: type[Args]) -> list[str]:
    return [str(name) for name in model.model_json_schema().get("properties", {})]
