"""Agent executors against the stand-in gateway, with real workers and beat, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from clawsched.sched import jobs, messages, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.store.models import Agent, utcnow
from clawsched.workers.gateway.replies import SILENT_REPLY_NOTE
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import agent_job, run_and_wait
from tests.support.waiting import wait_for


def chats(gateway: Any) -> list[Any]:
    return gateway.requests_to("/v1/chat/completions", "POST")


def test_isolated_job_sends_the_documented_request_and_stores_reply(store, redis, agent_settings, gateway,
                                                                   agent_worker, agent_beat):
    gateway.reply = "All systems nominal."
    job = jobs.create(store, agent_job(agent_id="ops"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "ok", run.error_message
    [req] = chats(gateway)
    assert req.method == "POST" and req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {gateway.token}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-openclaw-agent-id"] == "ops"
    assert req.headers["x-openclaw-session-key"] == f"clawsched:{job.id}:{run.id}"
    assert "x-openclaw-model" not in req.headers
    prompt = f"[scheduler:{job.id} Agent job]\n{SILENT_REPLY_NOTE}\n\nSummarize status"
    assert req.body == {"model": "openclaw/ops", "stream": False, "messages": [{"role": "user", "content": prompt}]}
    assert run.reply == "All systems nominal." and run.summary == "All systems nominal."
    assert run.usage["total_tokens"] == 15 and run.usage["prompt_tokens"] == 10
    assert run.duration_ms is not None and run.duration_ms >= 0
    # the gateway sends no key back; the run records the one it used: scoped to the agent, lower case
    assert run.session_key == f"agent:ops:clawsched:{job.id}:{run.id}"
    second = run_and_wait(store, redis, agent_settings, job.id)
    keys = [r.headers["x-openclaw-session-key"] for r in chats(gateway)]
    assert len(keys) == 2 and keys[0] != keys[1] and keys[1].endswith(second.id)
    with store.read() as s:
        assert s.get(Agent, "ops").status == "idle"


def test_session_job_reuses_one_key_and_model_override_goes_in_a_header(store, redis, agent_settings, gateway,
                                                                        agent_worker, agent_beat):
    job = jobs.create(store, agent_job(session_target="session:research-desk", payload_model="anthropic/claude-x"))
    for _ in range(2):
        assert run_and_wait(store, redis, agent_settings, job.id).status == "ok"
    sent = chats(gateway)
    assert [r.headers["x-openclaw-session-key"] for r in sent] == ["research-desk", "research-desk"]
    assert all(r.body["model"] == "openclaw/main" and r.headers["x-openclaw-model"] == "anthropic/claude-x"
               for r in sent)


def test_main_job_posts_a_wake_event_with_the_hooks_token(store, redis, agent_settings, gateway, agent_worker,
                                                          agent_beat):
    job = jobs.create(store, agent_job(session_target="main", payload_kind="systemEvent",
                                       payload_message="Check the inbox", wake_mode="next-heartbeat"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "ok", run.error_message
    [req] = gateway.requests_to("/hooks/wake")
    assert req.bearer == gateway.hooks_token
    assert req.body == {"text": f"[scheduler:{job.id} Agent job] Check the inbox", "mode": "next-heartbeat"}
    assert not chats(gateway)


def test_gateway_down_defers_agent_runs_until_it_is_back_while_shell_runs_go_on(store, redis, agent_settings,
                                                                                gateway, agent_worker, agent_beat):
    gateway.ready = False
    agent = jobs.create(store, agent_job())
    wake = jobs.create(store, agent_job(name="wake", session_target="main", payload_kind="systemEvent",
                                        payload_message="Check the inbox"))
    shell = jobs.create(store, {"name": "sh", "session_target": "shell", "payload_message": "echo fine",
                                "schedule_kind": "every", "schedule_every_ms": 1000, "run_timeout_ms": 5000})
    agent_run, wake_run = jobs.run_now(store, agent.id), jobs.run_now(store, wake.id)
    notify(redis, agent_settings, "test")
    waiting = wait_for(lambda: (r := runs.get(store, agent_run)).status == "pending"
                       and r.skip_reason == "waiting: gateway unavailable" and r,
                       timeout=10, what="the agent run to wait for the gateway")
    ran = wait_for(lambda: [r for r in runs.for_job(store, shell.id) if r.status == "ok"], timeout=10)
    assert ran[0].shell_stdout.strip() == "fine"
    skipped = wait_for(lambda: (r := runs.get(store, wake_run)).status == "skipped" and r, timeout=10,
                       what="the main-session wake to be skipped")
    assert skipped.skip_reason == "gateway unavailable", "a wake event does not wait"
    assert not chats(gateway) and not gateway.requests_to("/hooks/wake")
    assert jobs.get(store, agent.id).consecutive_errors == 0
    gateway.ready = True
    done = wait_for(lambda: (r := runs.get(store, agent_run)).status in runs.TERMINAL_VALUES and r, timeout=20,
                    what="the deferred run to run once the gateway is back")
    assert done.status == "ok", (done.status, done.skip_reason, done.error_message)
    assert done.skip_reason is None and done.started_at > waiting.created_at
    assert len(chats(gateway)) == 1


def test_an_agent_run_that_waited_too_long_for_the_gateway_is_skipped(store, redis, settings, gateway):
    from clawsched.workers.app import create_app
    from tests.conftest import BeatThread, running_worker

    app = create_app(settings.with_(gateway_url=gateway.url, gateway_token=gateway.token, gateway_defer_s=1.0))
    gateway.ready = False
    job = jobs.create(store, agent_job())
    with running_worker(app):
        beat = BeatThread(app).start()
        try:
            run_id = jobs.run_now(store, job.id)
            notify(redis, app.clawsched_settings, "test")
            run = wait_for(lambda: (r := runs.get(store, run_id)).status == "skipped" and r, timeout=15,
                           what="the run to give up waiting")
        finally:
            beat.stop()
    assert run.skip_reason == "gateway unavailable for over 1s"
    assert not chats(gateway)


def test_upstream_502_is_an_error_and_task_failed_sentinel_too(store, redis, agent_settings, gateway, agent_worker,
                                                               agent_beat):
    job = jobs.create(store, agent_job())
    gateway.fail_next(1, 502)
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "error" and "api_error" in run.error_message
    assert gateway.token not in run.error_message
    gateway.reply = "TASK_FAILED: the repo is missing"
    assert run_and_wait(store, redis, agent_settings, job.id).status == "error"


def test_prompt_carries_inbox_trigger_context_and_idempotency_key(store, redis, agent_settings, gateway,
                                                                  agent_worker, agent_beat):
    low = messages.send(store, "monitor", "main", "disk at 80%", subject="disk")
    urgent = messages.send(store, "monitor", "main", "db down", subject="db", priority=2)
    messages.send(store, "monitor", "other-agent", "not for main")
    job = jobs.create(store, agent_job(delivery_guarantee="at-least-once"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    prompt = chats(gateway)[0].body["messages"][0]["content"]
    assert prompt.index("db down") < prompt.index("disk at 80%")
    assert "not for main" not in prompt
    assert "From: monitor | text | db" in prompt
    assert run.idempotency_key and f"[IDEMPOTENCY KEY: {run.idempotency_key}]" in prompt
    assert prompt.endswith("\nSummarize status")
    for m in (low, urgent):
        assert messages.get(store, m.id).status == "delivered"
        assert [r.event for r in messages.receipts(store, m.id)] == ["delivered"]
    run_and_wait(store, redis, agent_settings, job.id)
    assert "Pending Messages" not in chats(gateway)[1].body["messages"][0]["content"]


def test_trigger_context_of_a_chain_parent_is_in_the_prompt(store, agent_settings, gateway):
    from clawsched.sched.store.models import Run
    from clawsched.workers.executors.agent import assemble_prompt

    job = jobs.create(store, agent_job())
    run = Run(id="r1", job_id=job.id, trigger_context={"parent_job": "p1", "parent_status": "ok",
                                                       "summary": "backup wrote 3 files"}, created_at=utcnow())
    prompt = assemble_prompt(store, job, run)
    assert "--- Trigger Context ---" in prompt and "summary: backup wrote 3 files" in prompt
