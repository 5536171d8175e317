"""Approvals past their timeout are resolved by their job's ``approval_auto`` (approve or reject)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clawsched.sched import approvals
from clawsched.sched.coordination.wake import notify
from clawsched.sched.runtime import Runtime


def expire_approvals(rt: Runtime, app: Any, now: datetime) -> int:
    done = approvals.expire_due(rt.store, now=now)
    if any(a.status == "approved" for a in done):
        notify(rt.redis, rt.settings, "approval timeout")
    return len(done)
