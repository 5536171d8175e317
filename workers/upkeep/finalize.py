"""Finished runs whose post-run pipeline never completed (the worker died after the outcome, or a
step failed): the pipeline runs again; its steps are idempotent.

A poison run — one whose pipeline fails every time, or never returns and takes its process with it —
must not be retried on every pass, on process after process. Each attempt is counted in the run's row
*before* it is made (``store.upkeep.count_pipeline_attempt``), so an attempt that wedged or killed its
process counts as well. After ``MAX_PIPELINE_ATTEMPTS`` the run is quarantined: logged once at ERROR
and left unfinalised, and the pass no longer reads it. Setting ``pipeline_attempts`` back to 0 lets the
reconciler try again (after the cause is fixed).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.runtime import Runtime
from clawsched.sched.store import upkeep

from ..post_run import pipeline

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # a run finished more recently may still be in its own pipeline
MAX_PIPELINE_ATTEMPTS = 3


def finalize_orphans(rt: Runtime, app: Any, now: datetime) -> int:
    ids = upkeep.unfinalized(rt.store, finished_before=now - GRACE, max_attempts=MAX_PIPELINE_ATTEMPTS)
    for run_id in ids:
        counted = upkeep.count_pipeline_attempt(rt.store, run_id, max_attempts=MAX_PIPELINE_ATTEMPTS)
        if counted is None:  # finalised (or quarantined) by another pass meanwhile
            continue
        attempt, job_id = counted
        if attempt > MAX_PIPELINE_ATTEMPTS:
            log.error("run %s of job %s: post-run pipeline attempted %d times without completing; quarantined: "
                      "finalize_orphans leaves it unfinalised (set runs.pipeline_attempts to 0 to try again)",
                      run_id, job_id, MAX_PIPELINE_ATTEMPTS)
            continue
        if attempt > 1:
            log.warning("run %s of job %s: post-run pipeline, reconciler attempt %d of %d", run_id, job_id,
                        attempt, MAX_PIPELINE_ATTEMPTS)
        pipeline.process(rt, run_id, now=now)
    return len(ids)
