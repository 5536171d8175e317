"""Crash recovery: a running run whose worker stopped heartbeating for ``stale_after_s`` is closed as
``crashed`` and its post-run pipeline runs here (``at-least-once`` jobs get one replay run)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.runtime import Runtime
from clawsched.sched.store import finishing, liveness

from ..post_run import pipeline

log = logging.getLogger(__name__)


def reap_stale(rt: Runtime, app: Any, now: datetime) -> int:
    cutoff = now - timedelta(seconds=rt.settings.stale_after_s)
    reaped = 0
    for run in liveness.stale(rt.store, rt.settings.stale_after_s, now=now):
        reason = (f"worker stopped heartbeating (host {run.hostname}, pid {run.pid}, last heartbeat "
                  f"{run.last_heartbeat.isoformat() if run.last_heartbeat else '-'})")
        if finishing.crash(rt.store, run.id, stale_before=cutoff, reason=reason, now=now) is None:
            continue
        reaped += 1
        log.warning("run %s of job %s crashed: %s", run.id, run.job_id, reason)
        pipeline.process(rt, run.id, now=now)
    return reaped
