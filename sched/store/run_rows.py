"""The one constructor of run rows, and the column lists rows are read back with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clawsched.sched.states import RunStatus, Trigger

from .tables import JOBS, RUNS, new_id

RUN_COLUMNS = tuple(c.name for c in RUNS.c)
JOB_COLUMNS = tuple(c.name for c in JOBS.c)


def new_run(job_id: str, run_timeout_ms: int | None, *, trigger: Trigger, now: datetime,
            status: RunStatus = RunStatus.PENDING, not_before: datetime | None = None,
            run_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """Column values for a new run of a job: every INSERT of a run (beat's claims, manual runs, retries,
    replays, chain children) builds its row here."""
    return {
        "id": run_id or new_id(),
        "job_id": job_id,
        "status": status.value,
        "trigger": trigger.value,
        "created_at": now,
        "not_before": not_before if not_before is not None else now,
        "run_timeout_ms": run_timeout_ms,
        **extra,
    }


def follow_up(job: Any, *, trigger: Trigger, now: datetime, **extra: Any) -> dict[str, Any]:
    """A run of ``job`` (a loaded row) that follows another one: a retry, a replay, a chain child."""
    return new_run(job.id, job.run_timeout_ms, trigger=trigger, now=now, **extra)
