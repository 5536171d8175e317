"""Retention: ``ttl_hours`` jobs, and run history and the audit log past ``run_retention_days``, at most once per prune
interval across every beat (a Redis key taken with NX)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched import audit, jobs
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import upkeep

log = logging.getLogger(__name__)

PRUNE_BUDGET_S = 10.0  # of one prune pass's deleting


def prune(rt: Runtime, app: Any, now: datetime) -> int:
    interval_ms = max(1, int(rt.settings.prune_interval_s * 1000))
    if not rt.redis.set(rt.settings.key("prune"), "1", nx=True, px=interval_ms):
        return 0
    removed = jobs.prune_expired(rt.store, now=now)
    if rt.settings.run_retention_days > 0:
        older_than = now - timedelta(days=rt.settings.run_retention_days)
        pruned = upkeep.prune_runs(rt.store, created_before=older_than, budget_s=PRUNE_BUDGET_S)
        if pruned:
            log.info("pruned %d runs created before %s", pruned, older_than)
        removed += pruned
        audited = audit.prune(rt.store, before=older_than)
        if audited:
            log.info("pruned %d audit entries from before %s", audited, older_than)
    return removed
