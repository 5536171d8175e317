"""Post-run delivery: the run's result to a chat or a webhook, and failure alerts, each at most once.

Rules (pure, ``plan``):

* ``none`` delivers nothing; ``announce`` delivers a run that did not end ``ok`` (a shell job's
  non-zero exit, an agent's error or timeout); ``announce-always`` delivers every run; skipped runs
  are never announced to chat (``failure_alert.includeSkipped`` is the way to hear about those);
  ``webhook`` POSTs the finished-run JSON of every terminal run to ``delivery_to``.
* A reply that is a silent sentinel (``NO_REPLY``, ``IDEMPOTENT_SKIP``, ...) suppresses delivery; so
  does a missing ``delivery_to``.

Every delivery is a ``deliveries`` row keyed by (run, kind, target). The row is claimed by a guarded
UPDATE before anything is sent and marked ``delivered`` after, so a callback Celery sends twice, or a
pipeline the reconciler re-runs after a crash, finds it and posts nothing. A crash in the middle of
a send leaves the row ``sending`` and it is never re-sent (the gateway's message tool does not dedupe,
so at-most-once is the safe side). ``@alias`` targets are resolved here, at delivery time; a missing
alias leaves a ``failed`` row naming it. Chat text is split to the channel's limit by the gateway
client. Webhooks are retried on 5xx and connection errors with exponential backoff and carry
``X-Clawsched-Signature: sha256=<hex HMAC of the body>`` when the job has a ``delivery_secret``. They go
to public addresses only unless the operator allows a host (``egress``).
Nothing here can fail or block the run: the run is already final, and errors end in the row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from clawsched.sched import aliases, runs
from clawsched.sched.errors import ClawschedError
from clawsched.sched.rules import prompts
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import FAILED, DeliveryMode, RunStatus, SessionTarget
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Delivery, Job, Run, utcnow
from clawsched.workers import egress
from clawsched.workers.gateway.client import client_for
from clawsched.workers.pipeline import step

log = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 5
WEBHOOK_WAIT_S = 0.2
WEBHOOK_TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Clawsched-Signature"
FAILURE_ALERT_AFTER = 2
FAILURE_ALERT_COOLDOWN_MS = 3_600_000


@dataclass(frozen=True)
class Plan:
    kind: str  # announce | webhook
    text: str | None = None


def plan(job: Job, run: Run) -> Plan | None:
    """What, if anything, this finished run delivers (the rules in the module docstring)."""
    mode = job.delivery_mode
    if mode == DeliveryMode.NONE.value or not job.delivery_to:
        return None
    if prompts.silent(run.reply):
        return None
    status = RunStatus(run.status)
    if mode == DeliveryMode.WEBHOOK.value:
        return Plan("webhook")
    if status == RunStatus.SKIPPED:
        return None
    if mode == DeliveryMode.ANNOUNCE.value and status == RunStatus.OK:
        return None
    return Plan("announce", announce_text(job, run))


def announce_text(job: Job, run: Run) -> str:
    if job.session_target == SessionTarget.SHELL.value:
        body = run.summary or run.error_message or "(no output)"
    else:
        body = run.reply or run.summary or run.error_message or "(no reply)"
    if run.status == RunStatus.OK.value:
        return body
    what = "Shell job" if job.session_target == SessionTarget.SHELL.value else "Job"
    return f"⚠️ {what} {run.status}: {job.name}\n\n{body}"


# ----------------------------------------------------------------------------------------- the ledger


def claim(store: Store, run_id: str | None, kind: str, target: str) -> Delivery | None:
    """The delivery row for (run, kind, target), moved to ``sending``; None when someone else has it."""
    try:
        with store.session() as s:
            s.add(Delivery(run_id=run_id, kind=kind, target=target, status="pending", created_at=utcnow()))
    except IntegrityError:
        pass  # a replayed callback: the row exists
    with store.session() as s:
        row = s.scalar(select(Delivery).where(Delivery.run_id == run_id, Delivery.kind == kind,
                                              Delivery.target == target))
        if row is None:
            return None
        moved = s.execute(update(Delivery).where(Delivery.id == row.id, Delivery.status == "pending")
                          .values(status="sending", attempts=Delivery.attempts + 1)).rowcount  # type: ignore[attr-defined]
        if not moved:
            return None
        s.refresh(row)
        return row


def settle(store: Store, delivery_id: str, *, error: str | None = None, attempts: int | None = None) -> None:
    values: dict[str, Any] = {"status": "failed" if error else "delivered", "error": error}
    if not error:
        values["delivered_at"] = utcnow()
    if attempts is not None:
        values["attempts"] = attempts
    with store.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def send_chat(rt: Runtime, run_id: str | None, kind: str, channel: str | None, to: str, text: str) -> str:
    """Deliver ``text`` once for (run, kind, to); returns the row's final status."""
    row = claim(rt.store, run_id, kind, to)
    if row is None:
        return "duplicate"
    try:
        resolved_channel, target = aliases.resolve(rt.store, channel, to)
        client_for(rt.settings).send_message(resolved_channel, target, text)
    except (ClawschedError, httpx.HTTPError) as exc:
        log.warning("delivery %s (%s) of run %s to %s failed: %s", row.id, kind, run_id, to, exc)
        settle(rt.store, row.id, error=str(exc)[:2000])
        return "failed"
    settle(rt.store, row.id)
    log.info("delivered %s of run %s to %s", kind, run_id, to)
    return "delivered"


# ------------------------------------------------------------------------------------------- webhooks


def webhook_body(job: Job, run: Run) -> dict[str, Any]:
    data = runs.as_dict(run)
    return {"event": "run.finished", "job": {"id": job.id, "name": job.name, "session_target": job.session_target,
                                            "agent_id": job.agent_id}, "run": data}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Retryable(Exception):
    pass


def send_webhook(rt: Runtime, job: Job, run: Run) -> str:
    url = job.delivery_to or ""
    row = claim(rt.store, run.id, "webhook", url)
    if row is None:
        return "duplicate"
    body = json.dumps(webhook_body(job, run), default=str, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "clawsched", "X-Clawsched-Delivery": row.id,
               "X-Clawsched-Event": "run.finished"}
    if job.delivery_secret:
        headers[SIGNATURE_HEADER] = sign(job.delivery_secret, body)
    attempts = 0

    def post() -> None:
        nonlocal attempts
        attempts += 1
        try:
            target = egress.vet(url, rt.settings.webhook_allowed_hosts)  # each attempt: DNS may change
        except egress.Unresolved as exc:
            raise _Retryable(str(exc)) from exc
        try:
            with httpx.Client(timeout=WEBHOOK_TIMEOUT_S) as client:
                response = client.post(target.url, content=body, headers={**headers, **target.headers},
                                       extensions=target.extensions)
        except httpx.HTTPError as exc:
            raise _Retryable(f"webhook {url}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise _Retryable(f"webhook {url} answered {response.status_code}")
        if response.status_code >= 300:
            raise ClawschedError(f"webhook {url} refused the delivery: {response.status_code}")

    retrying = Retrying(stop=stop_after_attempt(WEBHOOK_ATTEMPTS),
                        wait=wait_exponential(multiplier=WEBHOOK_WAIT_S * max(rt.settings.retry_scale, 0.01), max=30),
                        retry=retry_if_exception(lambda e: isinstance(e, _Retryable)), reraise=True,
                        before_sleep=lambda st: log.warning("webhook for run %s attempt %d failed: %s", run.id,
                                                            st.attempt_number, st.outcome and st.outcome.exception()))
    try:
        retrying(post)
    except (_Retryable, ClawschedError) as exc:
        log.warning("webhook delivery %s of run %s failed: %s", row.id, run.id, exc)
        settle(rt.store, row.id, error=str(exc), attempts=attempts)
        return "failed"
    settle(rt.store, row.id, attempts=attempts)
    return "delivered"


# ---------------------------------------------------------------------------------------------- steps


@step("delivery", 300, idle=lambda job, run, has_children: plan(job, run) is None)
def deliver(rt: Runtime, job: Job, run: Run) -> None:
    decision = plan(job, run)
    if decision is None:
        return
    if decision.kind == "webhook":
        send_webhook(rt, job, run)
    elif decision.text:
        send_chat(rt, run.id, "announce", job.delivery_channel, job.delivery_to or "", decision.text)


@dataclass(frozen=True)
class AlertPolicy:
    after: int
    cooldown: timedelta
    include_skipped: bool
    channel: str | None
    to: str | None
    mode: str


def alert_policy(job: Job) -> AlertPolicy | None:
    """``failure_alert`` in either spelling (``cooldownMs``/``cooldown_ms``, ...); None when off."""
    raw = job.failure_alert
    if not isinstance(raw, dict) or raw.get("enabled") is False:
        return None
    pick = lambda *names: next((raw[n] for n in names if raw.get(n) is not None), None)  # noqa: E731
    cooldown_ms = pick("cooldownMs", "cooldown_ms")
    cooldown_s = pick("cooldown_s")
    if cooldown_ms is None and cooldown_s is not None:
        cooldown_ms = float(cooldown_s) * 1000
    to = pick("to", "delivery_to") or job.delivery_to
    mode = pick("mode") or ("webhook" if job.delivery_mode == "webhook" and not pick("to") else "announce")
    if not to or mode != "announce":
        return None
    return AlertPolicy(after=int(pick("after") or FAILURE_ALERT_AFTER),
                       cooldown=timedelta(milliseconds=float(cooldown_ms if cooldown_ms is not None
                                                             else FAILURE_ALERT_COOLDOWN_MS)),
                       include_skipped=bool(pick("includeSkipped", "include_skipped")),
                       channel=pick("channel", "delivery_channel") or job.delivery_channel, to=to, mode=mode)


def failure_streak(statuses: list[str], include_skipped: bool) -> int:
    """Consecutive failures at the head of ``statuses`` (newest first); skips are ignored unless counted."""
    streak = 0
    for status in statuses:
        if status == RunStatus.SKIPPED.value:
            if include_skipped:
                streak += 1
            continue
        if RunStatus(status) in FAILED:
            streak += 1
            continue
        break
    return streak


def should_alert(streak: int, policy: AlertPolicy, last_alert: datetime | None, now: datetime) -> bool:
    return streak >= policy.after and (last_alert is None or now - last_alert >= policy.cooldown)


def _alert_may_follow(job: Job, run: Run) -> bool:
    """A final failure (or skip, when asked) of a job with an alert policy: the streak is worth counting."""
    policy = alert_policy(job)
    status = RunStatus(run.status)
    if policy is None or not (status in FAILED or (status == RunStatus.SKIPPED and policy.include_skipped)):
        return False
    return not runs.will_retry(job, run)


@step("failure_alert", 350, idle=lambda job, run, has_children: not _alert_may_follow(job, run))
def failure_alert(rt: Runtime, job: Job, run: Run) -> None:
    if not _alert_may_follow(job, run):
        return
    policy = alert_policy(job)
    assert policy is not None
    with rt.store.read() as s:
        statuses = list(s.scalars(select(Run.status).where(Run.job_id == job.id, Run.finished_at.is_not(None),
                                                           Run.finished_at <= run.finished_at)
                                  .order_by(Run.finished_at.desc()).limit(200)))
        last_alert = s.scalar(select(func.max(Delivery.delivered_at)).join(Run, Run.id == Delivery.run_id)
                              .where(Run.job_id == job.id, Delivery.kind == "failure_alert",
                                     Delivery.status == "delivered"))
    streak = failure_streak(statuses, policy.include_skipped)
    if not should_alert(streak, policy, last_alert, run.finished_at or utcnow()):
        return
    text = (f"🚨 {job.name} failed {streak} times in a row (last: {run.status})\n\n"
            f"{run.error_message or run.summary or ''}").strip()
    send_chat(rt, run.id, "failure_alert", policy.channel, policy.to or "", text)
