"""Every router the API serves, in one list: ``(router, needs the token)``."""

from __future__ import annotations

from fastapi import APIRouter

from . import probes

ROUTERS: tuple[tuple[APIRouter, bool], ...] = (
    (probes.router, False),
)
