"""Delivery modes, webhooks, aliases, splitting, failure alerts and replayed callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import select

from clawsched.sched import aliases, jobs
from clawsched.sched.rules import delivery
from clawsched.sched.store.models import Delivery, utcnow
from clawsched.workers.post_run import pipeline, steps
from clawsched.workers.post_run.step import Step
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import agent_job, finished_run, run_and_wait


def shell_job(**fields: Any) -> dict[str, Any]:
    spec = {"name": "Backup", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000,
            "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *", "delivery_channel": "telegram", "delivery_to": "111"}
    spec.update(fields)
    return spec


def deliveries(store: Any, run_id: str) -> list[Delivery]:
    with store.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.run_id == run_id)))


@pytest.mark.parametrize(("mode", "status", "posts"), [
    ("announce", "ok", 0), ("announce", "error", 1), ("announce-always", "ok", 1), ("announce-always", "error", 1),
    ("none", "error", 0), ("announce-always", "skipped", 0),
])
def test_chat_modes_deliver_exactly_when_specified(store, rt, gateway, mode, status, posts):
    job = jobs.create(store, shell_job(delivery_mode=mode))
    run = finished_run(store, job, status, summary="3 files", error_message=None if status == "ok" else "exit code 1")
    assert pipeline.process(rt, run.id, now=utcnow())
    assert len(gateway.sent_messages) == posts
    if posts:
        sent = gateway.sent_messages[0]
        assert (sent["channel"], sent["target"]) == ("telegram", "111")
        assert sent["message"] == "3 files" if status == "ok" else sent["message"].startswith("⚠️ Shell job error")


def test_agent_no_reply_sentinel_suppresses_and_announce_delivers_failures(store, rt, gateway):
    job = jobs.create(store, agent_job(delivery_mode="announce-always", delivery_channel="telegram", delivery_to="7"))
    quiet = finished_run(store, job, "ok", reply="NO_REPLY", summary="NO_REPLY")
    loud = finished_run(store, job, "ok", reply="Report: all green", summary="Report: all green")
    pipeline.process(rt, quiet.id, now=utcnow())
    pipeline.process(rt, loud.id, now=utcnow())
    assert [m["message"] for m in gateway.sent_messages] == ["Report: all green"]


def test_replayed_callback_and_partial_failure_post_once(store, rt, gateway, redis, agent_settings, agent_worker,
                                                         agent_beat):
    job = jobs.create(store, shell_job(payload_message="echo broke; exit 2", delivery_mode="announce"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "error" and len(gateway.sent_messages) == 1
    with store.session() as s:  # the reconciler or a duplicate Celery callback re-runs the pipeline
        s.get(type(run), run.id).finalized_at = None
    assert pipeline.process(rt, run.id, now=utcnow())
    assert pipeline.process(rt, run.id, now=utcnow())
    assert len(gateway.sent_messages) == 1
    [row] = deliveries(store, run.id)
    assert (row.kind, row.status, row.attempts) == ("announce", "delivered", 1)


def test_crash_before_delivery_is_repaired_once_by_rerunning_the_pipeline(store, rt, gateway, monkeypatch):
    job = jobs.create(store, shell_job(delivery_mode="announce-always"))
    run = finished_run(store, job, "ok", summary="done")
    original = steps.STEPS
    boom = Step("crash", lambda job, run, has_children: True,
                lambda rt, job, run, now: (_ for _ in ()).throw(RuntimeError("worker died")))
    before_delivery = [s.name for s in original].index("delivery")
    monkeypatch.setattr(steps, "STEPS", (*original[:before_delivery], boom, *original[before_delivery:]))
    assert pipeline.process(rt, run.id, now=utcnow()) is False  # a step failed: not finalised, so it will be re-run
    monkeypatch.setattr(steps, "STEPS", original)
    assert pipeline.process(rt, run.id, now=utcnow()) is True
    assert pipeline.process(rt, run.id, now=utcnow()) is True
    assert len(gateway.sent_messages) == 1


@pytest.fixture
def webhook_rt(agent_settings: Any) -> Any:
    """A worker runtime whose operator allows webhooks to the stand-in server on 127.0.0.1."""
    from clawsched.sched.runtime import Runtime

    runtime = Runtime(agent_settings.with_(webhook_allowed_hosts=("127.0.0.1",)))
    yield runtime
    runtime.close()


def test_a_webhook_to_loopback_is_refused_unless_the_operator_allows_it(store, rt, gateway):
    url = f"{gateway.url}/webhook/runs"
    job = jobs.create(store, shell_job(delivery_mode="webhook", delivery_to=url, delivery_channel=None))
    run = finished_run(store, job, "ok", summary="fine")
    assert pipeline.process(rt, run.id, now=utcnow())
    [row] = deliveries(store, run.id)
    assert row.status == "failed" and "(loopback)" in row.error
    assert "CLAWSCHED_WEBHOOK_ALLOWED_HOSTS=127.0.0.1" in row.error
    assert gateway.requests_to("/webhook/runs") == [], "nothing was sent"


def test_webhook_fails_twice_then_is_delivered_once_signed(store, webhook_rt, gateway):
    rt = webhook_rt
    url = f"{gateway.url}/webhook/runs"
    job = jobs.create(store, shell_job(delivery_mode="webhook", delivery_to=url, delivery_secret="s3cret",
                                       delivery_channel=None))
    run = finished_run(store, job, "ok", summary="fine")
    gateway.fail_webhooks_next(2, 503)
    assert pipeline.process(rt, run.id, now=utcnow())
    with store.session() as s:
        s.get(type(run), run.id).finalized_at = None
    pipeline.process(rt, run.id, now=utcnow())
    assert len(gateway.requests_to("/webhook/runs")) == 3
    [post] = gateway.webhook_posts
    expected = "sha256=" + hmac.new(b"s3cret", post.raw, hashlib.sha256).hexdigest()
    assert post.headers["x-clawsched-signature"] == expected
    assert post.headers["host"] == url.split("/")[2], "sent to the vetted address, under its own Host"
    body = json.loads(post.raw)
    assert body["run"]["id"] == run.id and body["run"]["status"] == "ok" and body["job"]["id"] == job.id
    assert "s3cret" not in post.raw.decode()
    [row] = deliveries(store, run.id)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert gateway.sent_messages == []


def test_alias_resolves_at_delivery_and_a_missing_one_fails_visibly(store, rt, gateway):
    aliases.add(store, "ops", "telegram", "-100200")
    job = jobs.create(store, shell_job(delivery_mode="announce-always", delivery_to="@ops", delivery_channel=None))
    first = finished_run(store, job, "ok", summary="hello team")
    pipeline.process(rt, first.id, now=utcnow())
    assert [(m["channel"], m["target"]) for m in gateway.sent_messages] == [("telegram", "-100200")]
    aliases.remove(store, "ops")
    second = finished_run(store, job, "ok", summary="again")
    assert pipeline.process(rt, second.id, now=utcnow())  # the run is still finalised: delivery never fails the run
    [row] = deliveries(store, second.id)
    assert row.status == "failed" and "@ops" in row.error
    assert len(gateway.sent_messages) == 1


def test_long_text_is_split_to_the_channel_limit(store, rt, gateway):
    text = "\n".join(f"line {i:04d} " + "x" * 80 for i in range(120))  # ~10.8k characters
    job = jobs.create(store, shell_job(delivery_mode="announce-always", delivery_channel="discord"))
    run = finished_run(store, job, "ok", summary=text)
    pipeline.process(rt, run.id, now=utcnow())
    parts = [m["message"] for m in gateway.sent_messages]
    assert len(parts) >= 6 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts).split() == text.split()


def test_failure_alert_after_n_consecutive_failures_with_cooldown(store, rt, gateway):
    job = jobs.create(store, shell_job(delivery_mode="none", failure_alert={
        "after": 2, "cooldownMs": 3_600_000, "channel": "telegram", "to": "999"}))
    runs_ = [finished_run(store, job, "error", error_message=f"boom {i}") for i in range(4)]
    for run in runs_:
        pipeline.process(rt, run.id, now=utcnow())
    alerts = [m for m in gateway.sent_messages if m["target"] == "999"]
    assert len(alerts) == 1 and "failed 2 times in a row" in alerts[0]["message"]


def test_failure_alert_can_count_skips(store, rt, gateway):
    job = jobs.create(store, agent_job(failure_alert={"after": 2, "includeSkipped": True, "channel": "telegram",
                                                      "to": "42", "cooldownMs": 0}))
    for _ in range(2):
        pipeline.process(rt, finished_run(store, job, "skipped", skip_reason="gateway unavailable").id, now=utcnow())
    assert [m["target"] for m in gateway.sent_messages] == ["42"]


def test_plan_is_a_pure_rule():
    from clawsched.sched.store.models import Job, Run

    job = Job(id="j", name="n", session_target="isolated", delivery_mode="announce", delivery_to="1")
    assert delivery.plan(job, Run(status="ok", reply="hi")) is None
    assert delivery.plan(job, Run(status="timeout", reply=None, error_message="slow")).kind == "announce"
    assert delivery.failure_streak(["error", "skipped", "timeout", "ok", "error"], False) == 2
    assert delivery.failure_streak(["error", "skipped", "timeout", "ok"], True) == 3
