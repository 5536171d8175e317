"""Two agent fields openclaw-scheduler users bring that clawsched accepted and ignored (issue 13):
``auth_profile`` (sent the way the gateway reads it: a suffix of the backend model) and
``payload_timeout_seconds`` (the activity-based timeout: no session activity for twice that, the turn is
given up, and the run says it may still have happened)."""

from __future__ import annotations

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.errors import SpecError
from clawsched.sched.specs import parse_job
from clawsched.workers.executors.idle import updated_at
from clawsched.workers.gateway.client import model_header
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import agent_job, run_and_wait


def test_an_auth_profile_rides_on_the_backend_model_header(store, redis, agent_settings, gateway, agent_worker,
                                                           agent_beat):
    job = jobs.create(store, agent_job(payload_model="anthropic/claude-sonnet-4", auth_profile="anthropic:work"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "ok"
    [turn] = gateway.turns
    assert turn["model_header"] == "anthropic/claude-sonnet-4@anthropic:work"


def test_inherit_sends_the_model_alone():
    assert model_header("openai/gpt-5", "inherit") == "openai/gpt-5"
    assert model_header("openai/gpt-5", None) == "openai/gpt-5"
    assert model_header("openai/gpt-5@old:one", "openai:work") == "openai/gpt-5@openai:work"


@pytest.mark.parametrize(("fields", "says"), [
    ({"auth_profile": "anthropic:work"}, "needs payload_model"),
    ({"auth_profile": "anthropic:work", "payload_model": "openclaw/main"}, "needs payload_model"),
    ({"auth_profile": "work", "payload_model": "anthropic/claude"}, "'provider:label'"),
    ({"auth_profile": "a:b@c", "payload_model": "anthropic/claude"}, "'provider:label'"),
])
def test_an_auth_profile_the_gateway_could_not_use_is_refused_naming_the_field(fields, says):
    with pytest.raises(SpecError) as caught:
        parse_job(agent_job(**fields))
    assert "auth_profile" in str(caught.value) and says in str(caught.value)


def test_a_stalled_turn_is_given_up_after_twice_the_payload_timeout_and_recorded_unconfirmed(
        store, redis, agent_settings, gateway, agent_worker, agent_beat):
    gateway.delay_s = 30  # the model hangs: the session shows no activity after the turn starts
    job = jobs.create(store, agent_job(payload_timeout_seconds=1, max_retries=2))
    run = run_and_wait(store, redis, agent_settings, job.id, timeout=20)
    assert run.status == "unconfirmed", run.error_message
    assert "idle for 2s" in run.error_message and "activity-based timeout" in run.error_message
    assert [r.id for r in runs.for_job(store, job.id)] == [run.id], "an unconfirmed turn is not retried"
    polls = [r for r in gateway.requests_to("/tools/invoke") if r.body.get("tool") == "sessions_list"]
    assert polls, "the idle watch never asked the gateway about the session"


def test_a_turn_that_answers_in_time_is_not_disturbed_by_the_idle_watch(store, redis, agent_settings, gateway,
                                                                        agent_worker, agent_beat):
    gateway.delay_s = 1.5  # slower than one poll (0.5 s), well inside the idle limit (4 s)
    job = jobs.create(store, agent_job(payload_timeout_seconds=2))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "ok" and run.reply.startswith("STUB-REPLY")


@pytest.mark.parametrize("answer", [
    {"result": {"details": {"sessions": [{"key": "agent:main:x", "updatedAt": 5}]}}},
    {"result": {"sessions": [{"sessionKey": "agent:main:x", "updatedAt": 5}]}},
    {"result": [{"key": "agent:main:x", "updatedAt": 5}]},
])
def test_the_session_activity_is_read_from_each_shape_the_gateway_answers(answer):
    assert updated_at(answer, "agent:main:x") == 5
    assert updated_at(answer, "agent:main:y") is None
