"""Failure alerts: after ``after`` final failures in a row (skips too, when asked), one chat message,
then none again until the cooldown has passed (``failure_alert``; missed fires count with
``includeMissed``)."""

from __future__ import annotations

from datetime import datetime

from clawsched.sched.rules import delivery
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import deliveries
from clawsched.sched.store.models import Job, Run

from ..outbound.chat import send_chat


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return delivery.alert_may_follow(job, run)


def failure_alert(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    policy = delivery.alert_policy(job)
    assert policy is not None, "has_work saw a policy"
    statuses = deliveries.recent_statuses(rt.store, job.id, run.finished_at)
    streak = delivery.failure_streak(statuses, policy.include_skipped, policy.include_missed)
    last_alert = deliveries.last_delivered(rt.store, job.id, "failure_alert")
    if not delivery.should_alert(streak, policy, last_alert, run.finished_at or now):
        return
    what = "missed or failed" if policy.include_missed else "failed"
    text = (f"🚨 {job.name} {what} {streak} times in a row (last: {run.status})\n\n"
            f"{run.error_message or run.summary or ''}").strip()
    send_chat(rt, run.id, "failure_alert", policy.channel, policy.to or "", text)
