"""``/v1/jobs/{id}/next``: a job's next fires in UTC and its zone, daylight-saving folds and gaps marked,
through ``clawsched.sched.previews`` as ``clawsched jobs next`` does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from clawsched.sched import previews

from . import models
from .common import StoreDep, resource_router

router = resource_router("/v1", "jobs")


@router.get("/jobs/{job_id}/next", response_model=models.PreviewOut, response_model_by_alias=True,
            summary="A job's next fires, in UTC and its zone, with DST folds and gaps marked",
            responses=models.errors(404))
def next_fires(store: StoreDep, job_id: str,
               n: Annotated[int, Query(ge=1, le=1000, description="How many fires.")] = previews.DEFAULT_COUNT,
               start: Annotated[str | None, Query(alias="from", max_length=64, description=(
                   "Start here instead of now: ISO-8601; without an offset, in the job's zone."))] = None,
               ) -> dict[str, Any]:
    return {"ok": True, **previews.for_job(store, job_id, n, start=start)}
