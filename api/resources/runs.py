"""``/v1/runs``: run history across jobs, one run, its output and its lineage, through
``clawsched.sched.runs``, ``output`` and ``lineage`` as ``clawsched runs ...`` does."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import StreamingResponse

from clawsched.sched import lineage, output
from clawsched.sched import runs as svc
from clawsched.sched.states import RunStatus

from . import models
from .common import Limit, Offset, StoreDep, resource_router, utc

router = resource_router("/v1/runs", "runs")

Instant = Annotated[datetime | None, Query(description="ISO-8601; without an offset it is UTC.")]


@router.get("", response_model=models.RunList, responses=models.errors(404),
            summary="Runs across jobs, newest first: by job, status and creation time, with paging")
def list_runs(store: StoreDep, job: Annotated[str | None, Query(max_length=64, description="Only this job's runs "
                                                                "(404 if there is no such job).")] = None,
              status: Annotated[list[RunStatus] | None, Query(description="Only runs in these statuses "
                                                                          "(repeat the parameter).")] = None,
              since: Instant = None, until: Instant = None, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    found = svc.search(store, job_id=job, statuses=status or (), since=utc(since, "since"),
                       until=utc(until, "until"), limit=limit, offset=offset)
    return {"ok": True, "runs": [svc.as_dict(r) for r in found.rows], "total": found.total, "limit": found.limit,
            "offset": found.offset}


@router.get("/{run_id}", response_model=models.RunOut, summary="One run, every field", responses=models.errors(404))
def get_run(store: StoreDep, run_id: str) -> dict[str, Any]:
    return {"ok": True, "run": svc.as_dict(svc.get(store, run_id))}


@router.get("/{run_id}/output", response_model=models.RunOutput, responses=models.errors(404),
            summary="The whole stdout or stderr of a run, including offloaded output, from any host")
def get_run_output(store: StoreDep, run_id: str, stream: Literal["stdout", "stderr"] = "stdout") -> dict[str, Any]:
    text = output.read(store, svc.get(store, run_id), stream)
    return {"ok": True, "runId": run_id, "stream": stream, "bytes": len(text.encode()), "output": text}


@router.get("/{run_id}/output.txt", response_class=StreamingResponse, responses={
    **models.errors(404), 200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                                "description": "The stream as text, sent a megabyte at a time"}},
            summary="The same output as plain text, streamed: a 200 MB log is never held whole, on either side")
def get_run_output_text(store: StoreDep, run_id: str,
                        stream: Literal["stdout", "stderr"] = "stdout") -> StreamingResponse:
    pieces = output.chunks(store, svc.get(store, run_id), stream)  # a missing run is a 404 before any byte
    return StreamingResponse((p.encode() for p in pieces), media_type="text/plain; charset=utf-8")


@router.get("/{run_id}/tree", response_model=models.Lineage, responses=models.errors(404),
            summary="A run's lineage both ways: its origin, retries, replays and triggered children")
def get_run_lineage(store: StoreDep, run_id: str) -> dict[str, Any]:
    return {"ok": True, **lineage.tree(store, run_id)}
