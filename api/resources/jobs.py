"""``/v1/jobs``: define, change, start, cancel and draw jobs, through ``clawsched.sched.jobs`` as
``clawsched jobs ...`` does. A spec is openclaw-scheduler's flat JSON or OpenClaw's cron-tool JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Query, status
from pydantic import BaseModel, Field

from clawsched.sched import audit, pauses
from clawsched.sched import jobs as svc
from clawsched.sched.coordination import cancels
from clawsched.sched.store.tables import JOBS, utcnow

from ..sending import start_now
from . import models
from .common import ActorDep, Limit, Offset, RuntimeDep, StoreDep, resource_router, utc, wake

router = resource_router("/v1", "jobs")

FLAT_EXAMPLE = {"name": "Disk check", "schedule_cron": "*/15 * * * *", "session_target": "shell",
                "payload_message": "df -h /", "run_timeout_ms": 60000}
CRON_TOOL_EXAMPLE = {"name": "Morning brief", "schedule": {"kind": "cron", "expr": "0 9 * * *",
                                                           "tz": "America/New_York"},
                     "sessionTarget": "isolated", "payload": {"kind": "agentTurn", "message": "Summarise my inbox"}}
Spec = Annotated[dict[str, Any], Body(
    description="A job spec: openclaw-scheduler's flat JSON or OpenClaw's cron-tool JSON (`clawsched schema jobs` "
                "lists every flat field). The whole spec is validated before anything is written.",
    openapi_examples={"flat": {"summary": "flat (openclaw-scheduler)", "value": FLAT_EXAMPLE},
                      "cron-tool": {"summary": "OpenClaw cron tool", "value": CRON_TOOL_EXAMPLE}})]
Patch = Annotated[dict[str, Any], Body(
    description="The fields to change, in either dialect; the merged job is validated as a whole.",
    openapi_examples={"disable": {"value": {"enabled": False}},
                      "reschedule": {"value": {"schedule_cron": "0 * * * *"}}})]
DryRun = Annotated[bool, Query(description="Validate and show the job without saving it.")]


def _saved(rt: Any, job: Any, verb: str, dry_run: bool) -> dict[str, Any]:
    if not dry_run:
        wake(rt, f"job {verb}")
        return {"ok": True, "dryRun": False, "job": svc.as_dict(job)}
    from clawsched.sched import previews

    first = previews.of(job, previews.DEFAULT_COUNT, previews.parse_start(None, job.schedule_tz or "UTC"))
    return {"ok": True, "dryRun": True, "job": _as_stored(svc.as_dict(job)), "preview": first}


def _as_stored(data: dict[str, Any]) -> dict[str, Any]:
    """A job never flushed (a dry run), with the column defaults the insert would have filled in."""
    for column in JOBS.columns:
        default = column.default
        if data.get(column.key) is None and default is not None and getattr(default, "is_scalar", False):
            data[column.key] = getattr(default, "arg", None)
    return data


@router.get("/jobs", response_model=models.JobList, summary="List jobs, oldest first, with filters and paging")
def list_jobs(store: StoreDep, job_type: Annotated[Literal["standard", "watchdog"] | None, Query(alias="type")] = None,
              enabled: bool | None = None, agent: Annotated[str | None, Query(max_length=128)] = None,
              parent: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = 50,
              offset: Offset = 0) -> dict[str, Any]:
    found = svc.page(store, job_type=job_type, enabled=enabled, agent_id=agent, parent_id=parent, limit=limit,
                     offset=offset)
    return {"ok": True, "jobs": [svc.as_dict(j) for j in found.rows], "total": found.total, "limit": found.limit,
            "offset": found.offset}


@router.post("/jobs", response_model=models.JobSaved, status_code=status.HTTP_201_CREATED,
             summary="Create a job from a spec in either dialect", responses=models.errors(409, body=True))
def create_job(rt: RuntimeDep, actor: ActorDep, spec: Spec, dry_run: DryRun = False) -> dict[str, Any]:
    return _saved(rt, svc.create(rt.store, spec, dry_run=dry_run, actor=actor), "added", dry_run)


@router.get("/jobs/{job_id}", response_model=models.JobOut, summary="One job, every field",
            responses=models.errors(404))
def get_job(store: StoreDep, job_id: str) -> dict[str, Any]:
    return {"ok": True, "job": svc.as_dict(svc.get(store, job_id))}


@router.patch("/jobs/{job_id}", response_model=models.JobSaved, summary="Change some fields of a job",
              responses=models.errors(404, body=True))
def update_job(rt: RuntimeDep, actor: ActorDep, job_id: str, patch: Patch, dry_run: DryRun = False) -> dict[str, Any]:
    return _saved(rt, svc.update(rt.store, job_id, patch, dry_run=dry_run, actor=actor), "updated", dry_run)


@router.delete("/jobs/{job_id}", response_model=models.Deleted, summary="Delete a job, its runs and its children",
               responses=models.errors(404))
def delete_job(rt: RuntimeDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    removed = svc.delete_job(rt.store, job_id, actor=actor)
    wake(rt, "job deleted")
    return {"ok": True, "deleted": removed}


def _toggle(rt: Any, actor: Any, job_id: str, enabled: bool) -> dict[str, Any]:
    job = svc.set_enabled(rt.store, job_id, enabled, actor=actor)
    wake(rt, "job toggled")
    return {"ok": True, "job": svc.as_dict(job)}


@router.post("/jobs/{job_id}/enable", response_model=models.JobOut, responses=models.errors(404),
             summary="Enable a job; its next run is computed from now")
def enable_job(rt: RuntimeDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    return _toggle(rt, actor, job_id, True)


@router.post("/jobs/{job_id}/disable", response_model=models.JobOut, responses=models.errors(404),
             summary="Disable a job; it keeps its history and can still be run by hand")
def disable_job(rt: RuntimeDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    return _toggle(rt, actor, job_id, False)


class PauseIn(BaseModel):
    """A pause's note and, optionally, when it ends by itself."""

    reason: str = Field(min_length=1, max_length=pauses.REASON_MAX, description="Why the job is paused.")
    until: datetime | None = Field(default=None, description="ISO-8601; the job resumes by itself then.")


@router.post("/jobs/{job_id}/pause", response_model=models.JobOut, responses=models.errors(404, body=True),
             summary="Pause a job with a note (who and why are shown with the job); optionally until an instant")
def pause_job(rt: RuntimeDep, actor: ActorDep, job_id: str, body: PauseIn) -> dict[str, Any]:
    job = pauses.pause(rt.store, job_id, reason=body.reason, until=utc(body.until, "until"), actor=actor)
    wake(rt, "job paused")
    return {"ok": True, "job": svc.as_dict(job)}


@router.post("/jobs/{job_id}/resume", response_model=models.JobOut, responses=models.errors(404, 409),
             summary="End a job's pause; its next run is computed from now")
def resume_job(rt: RuntimeDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    job = pauses.resume(rt.store, job_id, actor=actor)
    wake(rt, "job resumed")
    return {"ok": True, "job": svc.as_dict(job)}


@router.get("/jobs/{job_id}/history", response_model=models.JobHistory,
            summary="Every change to a job (also a deleted one), oldest first: action, actor, source, field diff")
def job_history(store: StoreDep, job_id: str, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    found = audit.history(store, job_id, limit=limit, offset=offset)
    return {"ok": True, "jobId": job_id, "history": [audit.as_dict(e) for e in found.rows], "total": found.total,
            "limit": found.limit, "offset": found.offset}


@router.post("/jobs/{job_id}/run", response_model=models.Enqueued, status_code=status.HTTP_202_ACCEPTED,
             summary="Start a run now (also of a disabled job); answers the run id", responses=models.errors(404))
def run_job(rt: RuntimeDep, job_id: str) -> dict[str, Any]:
    now = utcnow()
    run_id = svc.run_now(rt.store, job_id, now=now)
    return {"ok": True, "enqueued": True, "runId": run_id, "beatWoken": start_now(rt, run_id, now, "run now")}


@router.post("/jobs/{job_id}/cancel", response_model=models.Cancelled, responses=models.errors(404),
             summary="Disable a job (and its descendants) and stop their open runs")
def cancel_job(rt: RuntimeDep, actor: ActorDep, job_id: str,
               cascade: Annotated[bool, Query(description="Also the job's descendants.")] = True) -> dict[str, Any]:
    result = svc.cancel(rt.store, job_id, cascade=cascade, actor=actor)
    cancels.announce(rt.redis, rt.settings, result["running"])
    wake(rt, "job cancelled")
    return {"ok": True, "cancelledJobs": result["jobs"], "cancelledRuns": result["runs"],
            "stoppedRuns": result["running"]}


def _node(node: dict[str, Any]) -> dict[str, Any]:
    job = node["job"]
    return {"id": job.id, "name": job.name, "enabled": job.enabled, "trigger_on": job.trigger_on,
            "trigger_delay_s": job.trigger_delay_s, "trigger_condition": job.trigger_condition,
            "agent_id": job.agent_id, "session_target": job.session_target,
            "approval_required": job.approval_required, "children": [_node(c) for c in node["children"]]}


@router.get("/jobs/{job_id}/tree", response_model=models.JobTree, responses=models.errors(404),
            summary="The chain under one job: the jobs its runs trigger, and theirs")
def get_job_tree(store: StoreDep, job_id: str) -> dict[str, Any]:
    return {"ok": True, "trees": [_node(n) for n in svc.tree(store, job_id)]}


@router.get("/chains", response_model=models.JobTree,
            summary="Every root job with its chain of triggered jobs")
def list_chains(store: StoreDep) -> dict[str, Any]:
    return {"ok": True, "trees": [_node(n) for n in svc.tree(store)]}
