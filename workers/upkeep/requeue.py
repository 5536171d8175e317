"""Runs queued whose message no worker will ever see (a Redis flush, a message acked by a worker that
failed to load its run, a worker killed with messages it had taken) are sent again, in the order they
were first sent (issue 19, D11).

Each round compares the runs still ``queued`` in SQL with what the broker holds (``coordination.broker``):
- in a queue's list: waiting behind others; never sent again, however long the backlog;
- in no list and not taken by any worker, ``lost_grace_s`` after it was sent (the grace covers a message
  between a beat's claim and its publish, or between a worker's pop and its start): lost; sent again now;
- taken by a worker (kombu's ``unacked``) that has not started it ``requeue_after_s`` after it was sent:
  that worker is likely dead (a live one starts what it takes, or holds it while busy); sent again.
A message sent twice is harmless: a run starts only from ``queued`` (a guarded UPDATE), so the second
copy finds it running or done and is dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.beat.publishing import send_runs
from clawsched.sched.coordination import broker
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import claims, upkeep

log = logging.getLogger(__name__)


def requeue_lost(rt: Runtime, app: Any, now: datetime) -> int:
    settings = rt.settings
    stale = upkeep.queued_before(rt.store, before=now - timedelta(seconds=settings.lost_grace_s))
    if not stale:
        return 0
    claimed = claims.with_job_names(rt.store, stale)
    held = broker.held(rt.redis, settings, {settings.run_queue(c.route) for c in claimed})
    taken_long_ago = set(upkeep.queued_before(rt.store, before=now - timedelta(seconds=settings.requeue_after_s)))
    lost = [c.run_id for c in claimed if c.run_id not in held.waiting
            and (c.run_id not in held.taken or c.run_id in taken_long_ago)]
    resent = set(upkeep.mark_resent(rt.store, lost, now=now))
    if resent:
        send_runs(app, [c for c in claimed if c.run_id in resent])
        log.warning("re-sent %d queued runs whose messages were lost", len(resent))
    return len(resent)
