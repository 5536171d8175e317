"""A finished run's JSON POSTed to the job's webhook, at most once per run, retried on 5xx and
connection errors with exponential backoff.

It carries ``X-Clawsched-Signature: sha256=<hex HMAC of the body>`` when the job has a
``delivery_secret``, and goes to public addresses only unless the operator allows a host (``egress``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from clawsched.sched import runs
from clawsched.sched.errors import ClawschedError
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import deliveries
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.tables import utcnow

from ..metrics import counted_delivery
from . import egress

log = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = 5
WEBHOOK_WAIT_S = 0.2
WEBHOOK_TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Clawsched-Signature"


def webhook_body(job: Job, run: Run) -> dict[str, Any]:
    data = runs.as_dict(run)
    return {"event": "run.finished", "job": {"id": job.id, "name": job.name, "session_target": job.session_target,
                                            "agent_id": job.agent_id}, "run": data}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Retryable(Exception):
    pass


class _Post:
    """One webhook delivery's attempts: each resolves and vets the host again (DNS may change)."""

    def __init__(self, rt: Runtime, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.rt, self.url, self.body, self.headers = rt, url, body, headers
        self.attempts = 0

    def __call__(self) -> None:
        self.attempts += 1
        try:
            target = egress.vet(self.url, self.rt.settings.webhook_allowed_hosts)
        except egress.Unresolved as exc:
            raise _Retryable(str(exc)) from exc
        try:
            with httpx.Client(timeout=WEBHOOK_TIMEOUT_S) as client:
                response = client.post(target.url, content=self.body, headers={**self.headers, **target.headers},
                                       extensions=target.extensions)
        except httpx.HTTPError as exc:
            raise _Retryable(f"webhook {self.url}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise _Retryable(f"webhook {self.url} answered {response.status_code}")
        if response.status_code >= 300:
            raise ClawschedError(f"webhook {self.url} refused the delivery: {response.status_code}")


def _retrying(rt: Runtime, run_id: str) -> Retrying:
    return Retrying(stop=stop_after_attempt(WEBHOOK_ATTEMPTS),
                    wait=wait_exponential(multiplier=WEBHOOK_WAIT_S * max(rt.settings.retry_scale, 0.01), max=30),
                    retry=retry_if_exception(lambda e: isinstance(e, _Retryable)), reraise=True,
                    before_sleep=lambda st: log.warning("webhook for run %s attempt %d failed: %s", run_id,
                                                        st.attempt_number, st.outcome and st.outcome.exception()))


@counted_delivery("webhook")
def send_webhook(rt: Runtime, job: Job, run: Run) -> str:
    """POST the run once; returns the ledger row's final status (or ``duplicate``)."""
    url = job.delivery_to or ""
    row = deliveries.claim(rt.store, run.id, "webhook", url, now=utcnow())
    if row is None:
        return "duplicate"
    body = json.dumps(webhook_body(job, run), default=str, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "clawsched", "X-Clawsched-Delivery": row.id,
               "X-Clawsched-Event": "run.finished"}
    if job.delivery_secret:
        headers[SIGNATURE_HEADER] = sign(job.delivery_secret, body)
    post = _Post(rt, url, body, headers)
    try:
        _retrying(rt, run.id)(post)
    except (_Retryable, ClawschedError) as exc:
        log.warning("webhook delivery %s of run %s failed: %s", row.id, run.id, exc)
        deliveries.settle(rt.store, row.id, now=utcnow(), error=str(exc), attempts=post.attempts)
        return "failed"
    deliveries.settle(rt.store, row.id, now=utcnow(), attempts=post.attempts)
    return "delivered"
