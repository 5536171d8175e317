"""Every router the API serves, in one list: ``(router, needs the token)``."""

from __future__ import annotations

from fastapi import APIRouter

from . import metrics, probes
from .resources import agents, aliases, approvals, imports, jobs, messages, previews, runs
from .tools import invoke as tools

ROUTERS: tuple[tuple[APIRouter, bool], ...] = (
    (probes.router, False),
    (metrics.router, True),
    (jobs.router, True),
    (previews.router, True),
    (runs.router, True),
    (approvals.router, True),
    (messages.router, True),
    (agents.router, True),
    (aliases.router, True),
    (imports.router, True),
    (tools.router, True),
)
