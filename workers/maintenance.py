"""Periodic upkeep that every beat schedules: each task is safe to run on several beats at once.

Foundation upkeep: re-send runs whose Celery message was lost, and finalise finished runs whose
callback never came. Later capabilities add their own passes with ``@task``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from clawsched.sched.runtime import Runtime
from clawsched.sched.states import TERMINAL
from clawsched.sched.store import claims
from clawsched.sched.store.models import Run, utcnow

log = logging.getLogger(__name__)

PASSES: dict[str, Callable[[Runtime, Any], int]] = {}


def task(name: str) -> Callable[[Callable[[Runtime, Any], int]], Callable[[Runtime, Any], int]]:
    def register(fn: Callable[[Runtime, Any], int]) -> Callable[[Runtime, Any], int]:
        PASSES[name] = fn
        return fn

    return register


def run_all(rt: Runtime, app: Any) -> dict[str, int]:
    from clawsched.workers import plugins

    plugins.load()
    done: dict[str, int] = {}
    for name, fn in PASSES.items():
        try:
            done[name] = fn(rt, app)
        except Exception:
            log.exception("maintenance pass %s failed", name)
            done[name] = -1
    return done


@task("requeue_lost")
def requeue_lost(rt: Runtime, app: Any) -> int:
    """Runs queued long ago that no worker started: their message was lost (Redis flushed). Send again."""
    from clawsched.workers.tasks import send_runs

    now = utcnow()
    ids = claims.stale_queued(rt.store, now - timedelta(seconds=rt.settings.requeue_after_s))
    if ids:
        claims.mark_redispatched(rt.store, ids, now)
        send_runs(app, ids)
        log.warning("re-sent %d queued runs whose messages were lost", len(ids))
    return len(ids)


@task("finalize_orphans")
def finalize_orphans(rt: Runtime, app: Any) -> int:
    """Finished runs whose post-run callback never arrived (worker died after finishing)."""
    from clawsched.workers import pipeline

    cutoff = utcnow() - timedelta(seconds=30)
    with rt.store.read() as s:
        ids = list(s.scalars(  # ix_runs_unfinalized: the few finished runs not finalised, not the history
            select(Run.id).where(Run.finalized_at.is_(None), Run.finished_at.is_not(None),
                                 Run.finished_at < cutoff, Run.status.in_([t.value for t in TERMINAL]))
            .order_by(Run.finished_at).limit(200)
        ))
    for run_id in ids:
        pipeline.process(rt, run_id)
    return len(ids)
