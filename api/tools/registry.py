"""Every tool ``/v1/tools`` serves, listed once, and finding one by the name a caller used."""

from __future__ import annotations

from typing import Any

from clawsched.sched.errors import NotFound

from . import cron, heartbeat, records
from .base import Tool

TOOLS: tuple[Tool, ...] = (*cron.TOOLS, *heartbeat.TOOLS, *records.TOOLS)
BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}
GROUPS = sorted({t.name.split(".", 1)[0] for t in TOOLS})


class UnknownTool(NotFound):
    """No tool of that name: ``GET /v1/tools`` lists them."""


def find(name: str) -> Tool:
    """The tool called ``name``; ``cron_add`` (function-calling names cannot hold a dot) finds ``cron.add``."""
    tool = BY_NAME.get(name) or BY_NAME.get(name.replace("_", ".", 1))
    if tool is None:
        raise UnknownTool(f"tool {name!r} not found; GET /v1/tools lists the {len(TOOLS)} tools "
                          f"({', '.join(GROUPS)})")
    return tool


def actions(group: str) -> list[str]:
    """The actions of a tool group (``cron`` → status, list, add, ...), for ``{tool: "cron", action}`` calls."""
    return [t.name.split(".", 1)[1] for t in TOOLS if t.name.startswith(f"{group}.")]


def describe() -> list[dict[str, Any]]:
    return [t.describe() for t in TOOLS]
