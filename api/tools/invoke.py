"""``GET /v1/tools`` and ``POST /v1/tools/invoke``: the control plane's tool endpoint, as in the seeds.

An invocation names a tool and its arguments in one of the shapes agents send (``models.ToolInvocation``);
the arguments are validated by the tool's model, the handler calls the ``sched`` services, and the answer is
``{ok: true, result}``. Every error is a ``ClawschedError`` answered by ``api.errors`` in the one shape,
``{ok: false, error: {code, message, field}}``, with its status: 404 for an unknown tool, job or run, 422
for bad arguments (``field`` names the argument as written), 409 for a conflict.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from clawsched.sched.errors import SpecError
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.models import utcnow

from .. import state
from ..resources.common import refuse_nul
from ..resources.models import ErrorOut, errors
from . import registry
from .args import parse
from .base import Context
from .models import ToolAnswer, ToolInvocation, ToolList

log = logging.getLogger(__name__)

router = APIRouter(tags=["tools"], dependencies=[Depends(refuse_nul)])

_FAILURES: dict[int | str, dict[str, Any]] = {
    **errors(401, 409, 422, body=True),
    404: {"model": ErrorOut, "description": "No such tool (`UnknownTool`), job, run or approval (`NotFound`)."},
    503: {"model": ErrorOut, "description": "The database cannot be reached."},
}


@router.get("/v1/tools", operation_id="listTools", summary="Every tool with the JSON schema of its arguments",
            response_model=ToolList, responses=errors(401))
def list_tools() -> JSONResponse:
    return JSONResponse({"ok": True, "tools": registry.describe()})


@router.post("/v1/tools/invoke", operation_id="invokeTool", summary="Invoke a tool: cron.*, heartbeat.*, "
             "proactive.runs, approvals.*, runs.get", response_model=ToolAnswer, responses=_FAILURES)
def invoke(body: ToolInvocation, rt: Runtime = Depends(state.runtime)) -> JSONResponse:  # noqa: B008
    name, raw = resolve(body)
    tool = registry.find(name)
    args = parse(tool.args, raw)
    ctx = Context(runtime=rt, now=utcnow(), session_key=body.sessionKey,
                  dry_run=body.dryRun or raw.get("dryRun") is True)
    result = tool.run(ctx, args)
    log.info("tool %s: %s", tool.name, {k: v for k, v in result.items() if k in ("jobId", "runId", "removed")})
    return JSONResponse({"ok": True, "result": result, **{k: result[k] for k in tool.promote if k in result}})


def resolve(body: ToolInvocation) -> tuple[str, dict[str, Any]]:
    """The tool's full name and its arguments, from whichever spelling the caller used."""
    args = _arguments(body)
    name = body.tool or body.name
    if not name:
        raise SpecError("tool: is required, e.g. {\"tool\": \"cron.add\", \"args\": {...}}; GET /v1/tools lists "
                        "them", field="tool")
    action = body.action or args.get("action")
    if "." not in name and name in registry.GROUPS:
        if not isinstance(action, str) or not action:
            raise SpecError(f"action: is required for tool {name!r}; one of "
                            f"{', '.join(registry.actions(name))}", field="action")
        name = f"{name}.{action}"
    return name, args


def _arguments(body: ToolInvocation) -> dict[str, Any]:
    if body.args or body.arguments is None:
        return dict(body.args)
    arguments: Any = body.arguments
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            raise SpecError(f"arguments: not valid JSON ({exc.args[0]})", field="arguments") from None
    if not isinstance(arguments, dict):
        raise SpecError("arguments: expected a JSON object", field="arguments")
    return arguments
