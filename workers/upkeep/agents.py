"""Agent upkeep: message TTL expiry and ``spawn`` messages, the task-tracker dead-man's switch and its
summaries, and agents unseen for a day marked offline."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched import agents, messages, task_trackers
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import ClawschedError
from clawsched.sched.runtime import Runtime

from ..gateway.client import client_for

log = logging.getLogger(__name__)

AGENT_OFFLINE_AFTER = timedelta(hours=24)


def message_upkeep(rt: Runtime, app: Any, now: datetime) -> int:
    expired = messages.expire(rt.store, now=now)
    spawned = messages.process_spawns(rt.store, now=now)
    if spawned and app is not None:
        notify(rt.redis, rt.settings, "spawned jobs")
    return expired + len(spawned)


def tracker_upkeep(rt: Runtime, app: Any, now: datetime) -> int:
    ended = task_trackers.check(rt.store, now=now)
    for tracker in task_trackers.undelivered(rt.store):
        if not task_trackers.claim_delivery(rt.store, tracker.id):
            continue
        try:
            client_for(rt.settings).send_message(tracker.delivery_channel, tracker.delivery_to or "",
                                                 task_trackers.summary_text(tracker))
        except ClawschedError as exc:
            log.warning("task tracker %s summary not delivered (%s); will retry", tracker.id, exc)
            task_trackers.release_delivery(rt.store, tracker.id)
    return len(ended)


def agent_status(rt: Runtime, app: Any, now: datetime) -> int:
    return agents.mark_offline(rt.store, AGENT_OFFLINE_AFTER, now=now)
