"""Finished runs whose post-run pipeline never completed (the worker died after the outcome, or a
step failed): the pipeline runs again; its steps are idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.runtime import Runtime
from clawsched.sched.store import upkeep

from ..post_run import pipeline

GRACE = timedelta(seconds=30)  # a run finished more recently may still be in its own pipeline


def finalize_orphans(rt: Runtime, app: Any, now: datetime) -> int:
    ids = upkeep.unfinalized(rt.store, finished_before=now - GRACE)
    for run_id in ids:
        pipeline.process(rt, run_id, now=now)
    return len(ids)
