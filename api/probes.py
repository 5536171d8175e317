"""Probes, without a token: ``/health`` (the process answers), ``/readyz`` (it can serve: the database and
Redis answer), ``/version``."""

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
    report = readiness.check(rt)
    return JSONResponse(report, status_code=200 if report["ok"] else 503)
