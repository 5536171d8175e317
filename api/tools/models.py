"""The request and answers of ``/v1/tools`` as models, for the OpenAPI document (and generated clients)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolInvocation(BaseModel):
    """One call. ``{tool: "cron.add", args}``; also OpenClaw's ``{tool: "cron", action: "add", args}`` (or the
    action inside ``args``) and the function-calling shape ``{name, arguments}`` (arguments may be a JSON string)."""

    model_config = ConfigDict(extra="forbid")

    tool: str | None = Field(None, max_length=64, description="The tool: 'cron.add', or a group ('cron') with "
                                                              "action", examples=["cron.add"])
    action: str | None = Field(None, max_length=64, description="The action of a tool group: add, list, ...")
    args: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments (GET /v1/tools)")
    name: str | None = Field(None, max_length=64, description="Function-calling spelling of `tool`")
    arguments: dict[str, Any] | str | None = Field(None, description="Function-calling spelling of `args`")
    sessionKey: str | None = Field(None, max_length=512, description="The caller's session: sessionTarget "
                                                                     "'current' binds a job to it")
    dryRun: bool = Field(False, description="cron.add/update, heartbeat.add/update: validate, show, save nothing")


class ToolAnswer(BaseModel):
    """``{ok: true, result}``; ``cron.run``, ``cron.wake`` and ``heartbeat.run`` also answer ``enqueued`` and
    ``runId`` at the top level."""

    model_config = ConfigDict(extra="allow")

    ok: bool = True
    result: dict[str, Any] = Field(description="What the tool returned (see docs/tools.md)")
    enqueued: bool | None = None
    runId: str | None = None


class ToolSpec(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON schema of the tool's arguments")


class ToolList(BaseModel):
    ok: bool = True
    tools: list[ToolSpec]
