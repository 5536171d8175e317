"""A run queued through the API goes to the workers from the API process itself, not through a beat.

``jobs run`` from the CLI queues the run and wakes the beats, which claim and send it: a short-lived
process should not build a Celery producer for one message. The API is long-lived and already holds a
connection to Redis, so it claims the run it just queued (``store.claims.claim_run``, the same guarded
pending -> queued a beat makes) and publishes it the way a beat does (``beat.publishing.send_runs``),
saving the beat's wake-up and claim round trip. A beat that claimed it first wins (nothing is sent twice:
the claim is guarded); a publish that fails puts the run back to ``pending`` for the beats, which
find it within their max interval, so a broker outage delays the run and loses nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from clawsched.sched.coordination.wake import notify
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import claims

log = logging.getLogger(__name__)

_lock = threading.Lock()
PUBLISH_TIMEOUT_S = 1.0  # a request waits this long at most for a broker that does not answer, then the beats



def _celery(rt: Runtime) -> Any:
    """The Celery app this process publishes with, built on first use and kept on the runtime."""
    app = getattr(rt, "_api_celery", None)
    if app is None:
        with _lock:
            app = getattr(rt, "_api_celery", None)
            if app is None:
                from clawsched.workers.app import create_app

                app = create_app(rt.settings, task_publish_retry=False, broker_connection_timeout=PUBLISH_TIMEOUT_S)
                rt._api_celery = app  # type: ignore[attr-defined]
    return app


def start_now(rt: Runtime, run_id: str, now: datetime, reason: str) -> bool:
    """Send ``run_id`` (just queued, due ``now``) to the workers; else wake the beats to. Returns whether
    the run (or the beats) could be told at once, as ``beatWoken`` reports it."""
    claimed = claims.claim_run(rt.store, run_id, now)
    if claimed is None:  # a beat has it already, or it waits for later: the beats' business
        return notify(rt.redis, rt.settings, reason)
    from clawsched.beat.publishing import send_runs

    try:
        send_runs(_celery(rt), [claimed])
        return True
    except Exception as exc:  # the broker refused: hand the run back to the beats, which retry the send
        log.warning("run %s: sending it from the API failed (%s); the beats will send it", run_id, exc)
        claims.unclaim_run(rt.store, run_id, now)
        return False  # not woken: the broker is the beats' Redis too; they find the run within their max interval
