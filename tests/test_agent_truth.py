"""What the real gateway does that a naive stand-in hid (issue 13), checked against the stand-in that now
does it too: a chat turn that must be visible, a send the gateway queues after answering ``tool_error``,
a turn cut off mid-way, session keys folded to lower case, and each dialect's meaning of ``announce``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from clawsched.sched import jobs, runs
from clawsched.sched.errors import SpecError
from clawsched.sched.specs import parse_job
from clawsched.sched.store.models import Delivery, Run, utcnow
from clawsched.workers.gateway.rendering import WORD_JOINER
from clawsched.workers.gateway.replies import SILENT_REPLY_NOTE
from clawsched.workers.post_run import pipeline
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import agent_job, finished_run, run_and_wait
from tests.support.gateway_stub import GatewayStub
from tests.support.waiting import wait_for

TELEGRAM = {"delivery_channel": "telegram", "delivery_to": "111"}


def obedient_model(quiet: bool) -> Any:
    """A model that stays silent the way its prompt tells it to, or with ``NO_REPLY`` when told nothing
    (what a job migrated from openclaw-scheduler asks for in its payload)."""
    def reply(body: dict[str, Any], headers: dict[str, str]) -> str:
        prompt = body["messages"][0]["content"]
        if not quiet:
            return "Disk at 91% on db-1"
        return "HEARTBEAT_OK" if "reply exactly HEARTBEAT_OK" in prompt else "NO_REPLY"
    return reply


def chats(gateway: GatewayStub) -> list[Any]:
    return gateway.requests_to("/v1/chat/completions")


def deliveries(store: Any, run_id: str) -> list[Delivery]:
    with store.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.run_id == run_id)))


def test_a_quiet_run_is_recorded_ok_and_nothing_reaches_the_chat(store, redis, agent_settings, gateway, agent_worker,
                                                                 agent_beat):
    gateway.reply_fn = obedient_model(quiet=True)
    job = jobs.create(store, agent_job(payload_message="If all is well reply NO_REPLY", delivery_mode="announce-always",
                                       **TELEGRAM))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert (run.status, run.reply) == ("ok", "HEARTBEAT_OK")
    assert SILENT_REPLY_NOTE in chats(gateway)[0].body["messages"][0]["content"]
    assert not gateway.continuations, "the gateway had to ask again for a visible answer"
    assert gateway.sent_messages == [] and deliveries(store, run.id) == []


def test_a_loud_run_is_delivered_once(store, redis, agent_settings, gateway, agent_worker, agent_beat):
    gateway.reply_fn = obedient_model(quiet=False)
    job = jobs.create(store, agent_job(delivery_mode="announce-always", **TELEGRAM))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert [m["message"] for m in gateway.sent_messages] == ["Disk at 91% on db-1"]
    assert [d.status for d in deliveries(store, run.id)] == ["delivered"]


def test_a_send_the_gateway_did_not_confirm_is_unconfirmed_and_never_sent_again(store, rt, gateway):
    job = jobs.create(store, agent_job(delivery_mode="announce-always", **TELEGRAM))
    run = finished_run(store, job, "ok", reply="Report: all green", summary="Report: all green")
    gateway.channels.down = True  # Telegram is down: the gateway answers tool_error and queues the send
    assert pipeline.process(rt, run.id, now=utcnow())
    [row] = deliveries(store, run.id)
    assert row.status == "unconfirmed" and "tool_error" in (row.error or "")
    with store.session() as s:  # a second pipeline pass (a replayed callback) finds the row and sends nothing
        s.get(Run, run.id).finalized_at = None
    assert pipeline.process(rt, run.id, now=utcnow())
    gateway.channels.back()
    assert [m["message"] for m in gateway.sent_messages] == ["Report: all green"]
    assert len(gateway.requests_to("/tools/invoke")) == 1


def test_a_turn_cut_off_mid_way_is_unconfirmed_and_not_retried(store, redis, agent_settings, gateway, agent_worker,
                                                               agent_beat):
    gateway.drop_chats = 1  # the gateway is killed mid-turn; when it comes back it resumes the turn itself
    job = jobs.create(store, agent_job(max_retries=2, delivery_mode="announce", **TELEGRAM))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "unconfirmed", run.error_message
    assert "may have done it" in run.error_message and run.session_key == f"agent:main:clawsched:{job.id}:{run.id}"
    assert len(chats(gateway)) == 1
    assert [r.id for r in runs.for_job(store, job.id)] == [run.id], "a retry was started beside it"
    [alert] = gateway.sent_messages  # the chat hears that it is unknown, not that it failed
    assert alert["message"].startswith("⚠️ Job unconfirmed")


def test_an_at_least_once_job_replays_an_unconfirmed_turn_with_its_key(store, redis, agent_settings, gateway,
                                                                        agent_worker, agent_beat):
    gateway.drop_chats = 1
    job = jobs.create(store, agent_job(delivery_guarantee="at-least-once"))
    first = run_and_wait(store, redis, agent_settings, job.id)
    assert first.status == "unconfirmed"
    replay = wait_for(lambda: next((r for r in runs.for_job(store, job.id)
                                    if r.replay_of == first.id and r.status == "ok"), None),
                      timeout=15, what="the replay of the unconfirmed run")
    assert replay.idempotency_key == first.idempotency_key
    prompts = [r.body["messages"][0]["content"] for r in chats(gateway)]
    assert len(prompts) == 2 and all(f"[IDEMPOTENCY KEY: {first.idempotency_key}]" in p for p in prompts)


def test_a_gateway_that_fails_the_turn_with_500_leaves_it_unconfirmed(store, redis, agent_settings, gateway,
                                                                      agent_worker, agent_beat):
    gateway.reply = "NO_REPLY"  # a model that ignores the note and stays silent: the gateway answers 500
    job = jobs.create(store, agent_job(max_retries=1))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "unconfirmed" and "internal error" in run.error_message
    assert len(chats(gateway)) == 1 and len(gateway.continuations) == 1


@pytest.mark.parametrize(("target", "fix"), [("session:Ops-Daily", "ops-daily"), ("session:ops daily", "white space")])
def test_a_session_key_the_gateway_would_read_differently_is_refused_naming_it(target, fix):
    with pytest.raises(SpecError) as caught:
        parse_job(agent_job(session_target=target))
    assert fix in str(caught.value) and "session" in str(caught.value)


def test_the_recorded_session_key_is_the_one_the_gateway_used(store, redis, agent_settings, gateway, agent_worker,
                                                               agent_beat):
    job = jobs.create(store, agent_job(session_target="session:ops-daily", agent_id="ops"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.session_key == "agent:ops:ops-daily" == gateway.turns[0]["session"]


@pytest.mark.parametrize(("job", "ok_posts", "error_posts"), [
    # OpenClaw's cron-tool form: announce delivers the final reply, failures too
    ({"name": "oc", "schedule": {"kind": "cron", "expr": "0 0 1 1 *"}, "sessionTarget": "isolated",
      "payload": {"kind": "agentTurn", "message": "hi"},
      "delivery": {"mode": "announce", "channel": "telegram", "to": "111"}}, 1, 1),
    # the flat, openclaw-scheduler form: announce is "tell me when it did not succeed"
    (agent_job(delivery_mode="announce", **TELEGRAM), 0, 1),
    # ... and it is the default when a target is given
    (agent_job(**TELEGRAM), 0, 1),
])
def test_each_dialect_keeps_its_own_meaning_of_announce(store, rt, gateway, job, ok_posts, error_posts):
    created = jobs.create(store, job)
    ok = finished_run(store, created, "ok", reply="all green", summary="all green")
    pipeline.process(rt, ok.id, now=utcnow())
    assert len(gateway.sent_messages) == ok_posts
    failed = finished_run(store, created, "error", error_message="exit 1")
    pipeline.process(rt, failed.id, now=utcnow())
    assert len(gateway.sent_messages) == ok_posts + error_posts


def shown(message: dict[str, Any]) -> str:
    return str(message["shown"]).replace(WORD_JOINER, "")  # invisible: it keeps '<b>' from becoming a tag


def test_what_a_shell_job_printed_is_what_the_chat_shows(store, rt, gateway):
    printed = "a<b & c>d 2*3*4 snake_case_name _x_ `code` <b>not bold</b> &amp;"
    job = jobs.create(store, {"name": "disk", "session_target": "shell", "payload_message": "true",
                              "run_timeout_ms": 5000, "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *",
                              "delivery_mode": "announce-always",
                              **TELEGRAM})
    run = finished_run(store, job, "ok", summary=printed)
    pipeline.process(rt, run.id, now=utcnow())
    [message] = gateway.sent_messages
    assert shown(message) == printed


def test_an_agent_reply_keeps_its_markdown_and_its_angle_brackets(store, rt, gateway):
    job = jobs.create(store, agent_job(delivery_mode="announce-always", **TELEGRAM))
    run = finished_run(store, job, "ok", reply="**Disk** at 91% on <db-1> & <db-2>", summary="x")
    pipeline.process(rt, run.id, now=utcnow())
    [message] = gateway.sent_messages
    assert shown(message) == "Disk at 91% on <db-1> & <db-2>"
