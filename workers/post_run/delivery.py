"""Delivery: the run's result to a chat or a webhook, at most once (``rules.delivery`` decides what,
``outbound`` sends and records it). Nothing here can fail or block the run: it is already final."""

from __future__ import annotations

from datetime import datetime

from clawsched.sched.rules import delivery
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.models import Job, Run

from ..outbound.chat import send_chat
from ..outbound.webhooks import send_webhook


def has_work(job: Job, run: Run, has_children: bool) -> bool:
    return delivery.plan(job, run) is not None


def deliver(rt: Runtime, job: Job, run: Run, now: datetime) -> None:
    decision = delivery.plan(job, run)
    if decision is None:
        return
    if decision.kind == "webhook":
        send_webhook(rt, job, run)
    elif decision.text:
        send_chat(rt, run.id, "announce", job.delivery_channel, job.delivery_to or "", decision.text,
                  markdown=decision.markdown)
