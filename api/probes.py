"""Probes, without a token: ``/health`` (the process answers), ``/readyz`` (the system can do its work: the
database and Redis answer, a beat and a worker are alive; ``sched.readiness``), ``/version``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from clawsched.sched import __version__, readiness
from clawsched.sched.runtime import Runtime

from . import state

router = APIRouter(tags=["probes"])


@router.get("/health", summary="The process answers")
def health() -> dict[str, Any]:
    return {"ok": True}


@router.get("/version", summary="clawsched's version")
def version() -> dict[str, Any]:
    return {"ok": True, "version": __version__}


@router.get("/readyz", summary="The database, Redis, a live beat and worker",
            responses={503: {"description": "something the system needs is down; ``checks`` says what"}})
def readyz(rt: Runtime = Depends(state.runtime)) -> JSONResponse:  # noqa: B008
    """503 names what is missing (``missing``, with ``remedies``) or could not be asked (``unknown``: the fleet
    while Redis is down); the gateway is reported but never makes the answer 503 (shell jobs run without it)."""
    from clawsched.workers.gateway.client import client_for

    report = readiness.check(rt.settings, rt.store, gateway_ready=lambda: client_for(rt.settings).ready())
    return JSONResponse(report, status_code=200 if report["ok"] else 503)
