"""Delivery rules: what a finished run delivers, and when a failure streak alerts. Pure, no I/O.

* ``none`` delivers nothing; ``announce`` delivers a run that did not end ``ok`` (a shell job's
  non-zero exit, an agent's error, timeout or unconfirmed turn); ``announce-always`` delivers every
  run (OpenClaw's own ``delivery.mode: "announce"`` means this, and ``sched.specs`` maps it so); skipped runs
  are never announced to chat (``failure_alert.includeSkipped`` is the way to hear about those), nor are
  missed fires (``failure_alert.includeMissed``), which no delivery mode sends, so a backlog is no storm;
  ``webhook`` POSTs the finished-run JSON of every terminal run to ``delivery_to``.
* A reply that is a silent sentinel (``NO_REPLY``, ``IDEMPOTENT_SKIP``, ...) suppresses delivery; so
  does a missing ``delivery_to``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.states import FAILED, DeliveryMode, RunStatus, SessionTarget

from . import attempts, prompts

FAILURE_ALERT_AFTER = 2
FAILURE_ALERT_COOLDOWN_MS = 3_600_000


@dataclass(frozen=True)
class Plan:
    kind: str  # announce | webhook
    text: str | None = None
    markdown: bool = False  # an agent's ok reply, written for the chat; anything else is shown verbatim


def plan(job: Any, run: Any) -> Plan | None:
    """What, if anything, this finished run delivers (the rules in the module docstring)."""
    mode = job.delivery_mode
    if mode == DeliveryMode.NONE.value or not job.delivery_to:
        return None
    if prompts.silent(run.reply):
        return None
    status = RunStatus(run.status)
    if status == RunStatus.MISSED:
        return None
    if mode == DeliveryMode.WEBHOOK.value:
        return Plan("webhook")
    if status == RunStatus.SKIPPED:
        return None
    if mode == DeliveryMode.ANNOUNCE.value and status == RunStatus.OK:
        return None
    is_reply = job.session_target != SessionTarget.SHELL.value and status == RunStatus.OK and bool(run.reply)
    return Plan("announce", announce_text(job, run), markdown=is_reply)


def announce_text(job: Any, run: Any) -> str:
    if job.session_target == SessionTarget.SHELL.value:
        body = run.summary or run.error_message or "(no output)"
    else:
        body = run.reply or run.summary or run.error_message or "(no reply)"
    if run.status == RunStatus.OK.value:
        return body
    what = "Shell job" if job.session_target == SessionTarget.SHELL.value else "Job"
    if run.status == RunStatus.UNCONFIRMED.value:  # not a failure we know of: say what is unknown
        return f"⚠️ {what} unconfirmed: {job.name} (it may have run; not retried)\n\n{body}"
    return f"⚠️ {what} {run.status}: {job.name}\n\n{body}"


@dataclass(frozen=True)
class AlertPolicy:
    after: int
    cooldown: timedelta
    include_skipped: bool
    include_missed: bool
    channel: str | None
    to: str | None
    mode: str


def alert_policy(job: Any) -> AlertPolicy | None:
    """``failure_alert`` in either spelling (``cooldownMs``/``cooldown_ms``, ...); None when off."""
    raw = job.failure_alert
    if not isinstance(raw, dict) or raw.get("enabled") is False:
        return None

    def pick(*names: str) -> Any:
        return next((raw[n] for n in names if raw.get(n) is not None), None)

    to = pick("to", "delivery_to") or job.delivery_to
    mode = pick("mode") or ("webhook" if job.delivery_mode == "webhook" and not pick("to") else "announce")
    if not to or mode != "announce":
        return None
    return AlertPolicy(after=int(pick("after") or FAILURE_ALERT_AFTER),
                       cooldown=timedelta(milliseconds=_cooldown_ms(pick("cooldownMs", "cooldown_ms"),
                                                                    pick("cooldown_s"))),
                       include_skipped=bool(pick("includeSkipped", "include_skipped")),
                       include_missed=bool(pick("includeMissed", "include_missed")),
                       channel=pick("channel", "delivery_channel") or job.delivery_channel, to=to, mode=mode)


def _cooldown_ms(cooldown_ms: Any, cooldown_s: Any) -> float:
    if cooldown_ms is None and cooldown_s is not None:
        return float(cooldown_s) * 1000
    return float(cooldown_ms if cooldown_ms is not None else FAILURE_ALERT_COOLDOWN_MS)


def failure_streak(statuses: list[str], include_skipped: bool, include_missed: bool = False) -> int:
    """Consecutive failures at the head of ``statuses`` (newest first); skips and missed fires are ignored
    unless counted."""
    streak = 0
    for status in statuses:
        if status in (RunStatus.SKIPPED.value, RunStatus.MISSED.value):
            if include_skipped if status == RunStatus.SKIPPED.value else include_missed:
                streak += 1
            continue
        if RunStatus(status) in FAILED:
            streak += 1
            continue
        break
    return streak


def should_alert(streak: int, policy: AlertPolicy, last_alert: datetime | None, now: datetime) -> bool:
    return streak >= policy.after and (last_alert is None or now - last_alert >= policy.cooldown)


def alert_may_follow(job: Any, run: Any) -> bool:
    """A final failure (or skip, when asked) of a job with an alert policy: the streak is worth counting."""
    policy = alert_policy(job)
    status = RunStatus(run.status)
    if policy is None or not (status in FAILED or (status == RunStatus.SKIPPED and policy.include_skipped)
                              or (status == RunStatus.MISSED and policy.include_missed)):
        return False
    return not attempts.will_retry(job, run)
