"""Every post-run step, in the order the pipeline runs them: the one list of them."""

from __future__ import annotations

from . import alerts, budget_alerts, chains, cleanup, delivery, dispatch, replays, retries, waiters
from .step import Step

STEPS: tuple[Step, ...] = (
    Step("release_waiters", waiters.has_work, waiters.release_waiters),
    Step("replays", replays.has_work, replays.replay_crashed),
    Step("retries", retries.has_work, retries.schedule_retry),
    Step("chains", chains.has_work, chains.trigger_children),
    Step("dispatch", dispatch.has_work, dispatch.record_turn),
    Step("delivery", delivery.has_work, delivery.deliver),
    Step("failure_alert", alerts.has_work, alerts.failure_alert),
    Step("budget_alert", budget_alerts.has_work, budget_alerts.budget_alert),
    Step("delete_after_run", cleanup.has_work, cleanup.delete_after_run),
)
