"""A run skipped by its job's budget tells the job's alert target (``failure_alert``'s, else the job's own
delivery target) once per budget window: the first skip of a window sends, the others are quiet."""

from __future__ import annotations

from datetime import datetime

from clawsched.sched.rules import budgets, delivery
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus
from clawsched.sched.store import deliveries
from clawsched.sched.store.models import Job, Run

from ..outbound.chat import send_chat

KIND = "budget_alert"


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return run.status == RunStatus.SKIPPED.value and (run.skip_reason or "").startswith("budget:")


def budget_alert(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    policy = delivery.alert_policy(job)
    channel, to = (policy.channel, policy.to) if policy else (job.delivery_channel, job.delivery_to)
    if not to:
        return
    windows = budgets.Windows.at(run.finished_at or now)
    window_start = windows.day if "tokens_per_day" in (run.skip_reason or "") else windows.hour
    last = deliveries.last_delivered(rt.store, job.id, KIND)
    if last is not None and last >= window_start:
        return
    send_chat(rt, run.id, KIND, channel, to, f"💸 {job.name} skipped: {run.skip_reason}")
