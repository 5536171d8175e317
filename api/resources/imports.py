"""``/v1/import/...``: ``clawsched import openclaw-scheduler|openclaw-cron`` over HTTP, for agents and tools
that migrate a host's jobs. The path names a file on the API's host (the token holder is its operator);
the answer is the import's report, job by job (``sched.importing.report``), refusals included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from clawsched.sched.importing.cron_store import import_cron_store
from clawsched.sched.importing.scheduler_db import import_scheduler_db

from . import models
from .common import RuntimeDep, StoreDep, resource_router, wake

router = resource_router("/v1/import", "import")


class SchedulerDbImport(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="The peer's scheduler.db on the API's host.",
                      examples=["/home/me/.openclaw/scheduler/scheduler.db"])
    dryRun: bool = Field(default=False, description="Do every write and roll it back: report what would change.")


class CronStoreImport(BaseModel):
    path: str = Field(default="~/.openclaw/cron/jobs.json", min_length=1, max_length=4096,
                      description="OpenClaw's cron jobs.json on the API's host (its sidecars beside it).")
    dryRun: bool = False


def _answer(rt: Any, report: Any) -> dict[str, Any]:
    if report.changed and not report.dry_run:
        wake(rt, "jobs imported")
    return {"ok": True, "import": report.as_dict()}


@router.post("/openclaw-scheduler", responses=models.errors(body=True),
             summary="Import openclaw-scheduler's scheduler.db: jobs, history, approvals, aliases, messages")
def import_openclaw_scheduler(store: StoreDep, rt: RuntimeDep, body: SchedulerDbImport) -> dict[str, Any]:
    return _answer(rt, import_scheduler_db(store, Path(body.path).expanduser(), dry_run=body.dryRun))


@router.post("/openclaw-cron", responses=models.errors(body=True),
             summary="Import OpenClaw's cron jobs.json with its state sidecar and run logs")
def import_openclaw_cron(store: StoreDep, rt: RuntimeDep, body: CronStoreImport) -> dict[str, Any]:
    return _answer(rt, import_cron_store(store, Path(body.path).expanduser(), dry_run=body.dryRun))
