"""The sub-agent dispatch watcher and watchdog: each ended dispatch's summary delivered once, and one
alert for a monitored dispatch silent past its threshold."""

from __future__ import annotations

import logging
from datetime import datetime

from clawsched.sched import dispatches
from clawsched.sched.runtime import Runtime

from ..outbound.chat import send_chat

log = logging.getLogger(__name__)


def dispatch_watch(rt: Runtime, *, now: datetime) -> int:
    return _deliver_ended(rt, now) + _alert_silent(rt, now)


def _deliver_ended(rt: Runtime, now: datetime) -> int:
    done = 0
    for row in dispatches.to_deliver(rt.store):
        if not dispatches.claim(rt.store, row.label, "delivered_at", now=now):
            continue
        text = f"[{row.status}] {row.label}\n\n{row.summary or '(no summary)'}"
        if send_chat(rt, row.run_id, "dispatch", row.channel, row.deliver_to or "", text) == "failed":
            log.warning("dispatch %s completion not delivered; see the deliveries row", row.label)
        done += 1
    return done


def _alert_silent(rt: Runtime, now: datetime) -> int:
    done = 0
    for row in dispatches.silent(rt.store, now=now):
        if not row.deliver_to or not dispatches.claim(rt.store, row.label, "alerted_at", now=now):
            continue
        silent_for = int((now - (row.last_activity_at or row.spawned_at)).total_seconds())
        text = (f"🚨 dispatch {row.label} appears stuck: no activity for {silent_for}s "
                f"(threshold {row.watchdog_after_s}s). Check it with `clawsched dispatch status --label {row.label}`.")
        send_chat(rt, row.run_id, "watchdog", row.channel, row.deliver_to, text)
        done += 1
    return done
