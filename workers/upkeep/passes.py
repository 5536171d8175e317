"""Every upkeep pass, in the order ``clawsched.maintenance`` runs them: the one list of them.

A pass takes the runtime, the Celery app (to send runs again) and the instant of this round, and
returns how much it did. One that raises is logged and reported as -1; the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from clawsched.sched import pauses
from clawsched.sched.runtime import Runtime

from . import agents, approvals, artifacts, deadlines, dispatch_watch, finalize, prune, reaper, requeue

log = logging.getLogger(__name__)

Pass = Callable[[Runtime, Any, datetime], int]

PASSES: tuple[tuple[str, Pass], ...] = (
    ("expire_unstarted", deadlines.expire_unstarted),
    ("requeue_lost", requeue.requeue_lost),
    ("finalize_orphans", finalize.finalize_orphans),
    ("reap_stale", reaper.reap_stale),
    ("expire_approvals", approvals.expire_approvals),
    ("expire_pauses", lambda rt, app, now: len(pauses.expire(rt.store, now=now))),
    ("prune", prune.prune),
    ("sweep_artifacts", artifacts.sweep_artifacts),
    ("messages", agents.message_upkeep),
    ("task_trackers", agents.tracker_upkeep),
    ("dispatch_watch", lambda rt, app, now: dispatch_watch.dispatch_watch(rt, now=now)),
    ("agents", agents.agent_status),
)


def run_all(rt: Runtime, app: Any, now: datetime) -> dict[str, int]:
    done: dict[str, int] = {}
    for name, fn in PASSES:
        try:
            done[name] = fn(rt, app, now)
        except Exception:
            log.exception("maintenance pass %s failed", name)
            done[name] = -1
    return done
