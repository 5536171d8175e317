"""Agent upkeep, run by every beat's maintenance task (each pass is safe on several beats at once):
message TTL expiry and ``spawn`` messages, the task-tracker dead-man's switch and its summaries, the
sub-agent dispatch watcher (completion summaries) and watchdog (silence alerts), and agent status.

Importing this module also registers the agent executors' ``gateway`` execution gate and the
``dispatch`` post-run step that records a dispatched turn's result.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_

from clawsched.sched import agents, dispatches, messages
from clawsched.sched import task_trackers as trackers
from clawsched.sched.errors import ClawschedError
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.models import JOBS, Job, Run, utcnow
from clawsched.workers import delivery
from clawsched.workers.execution import gate
from clawsched.workers.executors.agent import AGENT_TARGETS, gateway_gate
from clawsched.workers.gateway.client import client_for
from clawsched.workers.maintenance import task
from clawsched.workers.pipeline import step

log = logging.getLogger(__name__)

AGENT_OFFLINE_AFTER = timedelta(hours=24)

gate("gateway", free=and_(*(JOBS.c.session_target != target for target in sorted(AGENT_TARGETS))))(gateway_gate)


@step("dispatch", 250, idle=lambda job, run, has_children: not (job.origin or "").startswith("dispatch:"))
def dispatch_turn(rt: Runtime, job: Job, run: Run) -> None:
    """A dispatched session's turn ended: keep its reply and end the dispatch (unless ``done`` did)."""
    if job.origin and job.origin.startswith("dispatch:"):
        dispatches.record_turn(rt.store, run)
        dispatch_watch(rt, None)


@task("messages")
def message_upkeep(rt: Runtime, app: Any) -> int:
    expired = messages.expire(rt.store)
    spawned = messages.process_spawns(rt.store)
    if spawned and app is not None:
        from clawsched.sched.coordination.wake import notify

        notify(rt.redis, rt.settings, "spawned jobs")
    return expired + len(spawned)


@task("task_trackers")
def tracker_upkeep(rt: Runtime, app: Any, now: datetime | None = None) -> int:
    ended = trackers.check(rt.store, now=now)
    for tracker in trackers.undelivered(rt.store):
        if not trackers.claim_delivery(rt.store, tracker.id):
            continue
        try:
            client_for(rt.settings).send_message(tracker.delivery_channel, tracker.delivery_to or "",
                                                 trackers.summary_text(tracker))
        except ClawschedError as exc:
            log.warning("task tracker %s summary not delivered (%s); will retry", tracker.id, exc)
            trackers.release_delivery(rt.store, tracker.id)
    return len(ended)


@task("dispatch_watch")
def dispatch_watch(rt: Runtime, app: Any, now: datetime | None = None) -> int:
    """Watcher: deliver each ended dispatch's summary once. Watchdog: alert once on a silent session."""
    done = 0
    for row in dispatches.to_deliver(rt.store):
        if not dispatches.claim(rt.store, row.label, "delivered_at"):
            continue
        text = f"[{row.status}] {row.label}\n\n{row.summary or '(no summary)'}"
        status = delivery.send_chat(rt, row.run_id, "dispatch", row.channel, row.deliver_to or "", text)
        if status == "failed":
            log.warning("dispatch %s completion not delivered; see the deliveries row", row.label)
        done += 1
    for row in dispatches.silent(rt.store, now=now):
        if not row.deliver_to or not dispatches.claim(rt.store, row.label, "alerted_at", now=now):
            continue
        silent_for = int(((now or utcnow()) - (row.last_activity_at or row.spawned_at)).total_seconds())
        text = (f"🚨 dispatch {row.label} appears stuck: no activity for {silent_for}s "
                f"(threshold {row.watchdog_after_s}s). Check it with `clawsched dispatch status --label {row.label}`.")
        delivery.send_chat(rt, row.run_id, "watchdog", row.channel, row.deliver_to, text)
        done += 1
    return done


@task("agents")
def agent_status(rt: Runtime, app: Any) -> int:
    return agents.mark_offline(rt.store, AGENT_OFFLINE_AFTER)
