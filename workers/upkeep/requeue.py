"""Runs queued long ago that no worker started: their message was lost (a Redis flush). Send again."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.beat.publishing import send_runs
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import claims, upkeep

log = logging.getLogger(__name__)


def requeue_lost(rt: Runtime, app: Any, now: datetime) -> int:
    ids = upkeep.requeue_lost(rt.store, queued_before=now - timedelta(seconds=rt.settings.requeue_after_s), now=now)
    if ids:
        send_runs(app, claims.with_job_names(rt.store, ids))
        log.warning("re-sent %d queued runs whose messages were lost", len(ids))
    return len(ids)
