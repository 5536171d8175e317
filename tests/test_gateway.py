"""The gateway client against the stand-in gateway: the exact wire calls, error classes and retries."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clawsched.sched.errors import GatewayError, SpecError, TransientGatewayError
from clawsched.sched.settings import Settings
from clawsched.workers.gateway.chunking import CHANNEL_LIMITS, split_message
from clawsched.workers.gateway.client import GatewayClient, GatewayTimeoutError, new_session_key, stable_session_key
from tests.support.gateway_stub import GatewayStub


@pytest.fixture
def stub() -> Iterator[GatewayStub]:
    with GatewayStub() as server:
        yield server


@pytest.fixture
def client(stub: GatewayStub) -> Iterator[GatewayClient]:
    with GatewayClient(stub.url, token=stub.token, hooks_token=stub.hooks_token, retry_wait_s=0.01) as c:
        yield c


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(home=tmp_path, database_url="sqlite://", redis_url="redis://127.0.0.1:1/0").with_(**changes)


# ---------------------------------------------------------------------------------------------- agent turns


def test_chat_sends_the_documented_request_and_parses_reply_and_usage(stub: GatewayStub, client: GatewayClient):
    stub.reply = "all quiet"
    key = new_session_key("job-1", "run-1")

    reply = client.chat(agent_id="main", message="Summarize status", session_key=key, timeout_s=30)

    (sent,) = stub.requests_to("/v1/chat/completions")
    assert sent.method == "POST"
    assert sent.headers["authorization"] == f"Bearer {stub.token}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-openclaw-session-key"] == "clawsched:job-1:run-1"
    assert sent.headers["x-openclaw-agent-id"] == "main"
    assert "x-openclaw-model" not in sent.headers
    assert sent.body == {
        "model": "openclaw/main",
        "stream": False,
        "messages": [{"role": "user", "content": "Summarize status"}],
    }
    assert reply.content == "all quiet"
    assert reply.usage == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert reply.model == "openclaw:main"
    # no x-openclaw-session-key comes back: the key is the one the gateway uses, scoped and lower case
    assert reply.session_key == "agent:main:clawsched:job-1:run-1"
    assert reply.duration_ms >= 0
    assert reply.raw["choices"][0]["message"]["content"] == "all quiet"


def test_a_provider_model_travels_as_the_backend_override_header(stub: GatewayStub, client: GatewayClient):
    client.chat(agent_id="ops", message="hi", session_key=None, model="anthropic/claude-x", timeout_s=30)
    client.chat(agent_id="ops", message="hi", session_key=None, model="openclaw:main", timeout_s=30)

    first, second = stub.requests_to("/v1/chat/completions")
    assert first.body["model"] == "openclaw/ops"
    assert first.headers["x-openclaw-model"] == "anthropic/claude-x"
    assert "x-openclaw-session-key" not in first.headers
    assert second.body["model"] == "openclaw:main"
    assert "x-openclaw-model" not in second.headers


def test_wrong_token_is_a_permanent_error_that_never_shows_the_token(stub: GatewayStub):
    secret = "sk-wrong-secret-123"
    with GatewayClient(stub.url, token=secret) as client:
        with pytest.raises(GatewayError) as caught:
            client.chat(agent_id="main", message="hi", session_key="k", timeout_s=10)
        assert secret not in repr(client)

    assert not isinstance(caught.value, TransientGatewayError)
    assert "401" in str(caught.value) and "Unauthorized" in str(caught.value)
    assert secret not in str(caught.value)


def test_upstream_502_is_transient_and_not_retried_for_chat(stub: GatewayStub, client: GatewayClient):
    stub.fail_next(1, status=502)

    with pytest.raises(TransientGatewayError, match="upstream provider error"):
        client.chat(agent_id="main", message="hi", session_key="k", timeout_s=10)

    assert len(stub.requests_to("/v1/chat/completions")) == 1
    assert client.chat(agent_id="main", message="hi", session_key="k", timeout_s=10).content == "STUB-REPLY: hi"


def test_reserved_session_namespace_is_refused_by_the_gateway(stub: GatewayStub, client: GatewayClient):
    with pytest.raises(GatewayError, match="reserved internal session namespaces") as caught:
        client.chat(agent_id="main", message="hi", session_key="cron:job-42", timeout_s=10)

    assert not isinstance(caught.value, TransientGatewayError)
    assert stub.requests_to("/v1/chat/completions")[0].headers["x-openclaw-session-key"] == "cron:job-42"


def test_session_keys_stay_out_of_reserved_namespaces():
    assert new_session_key("j", "r") == "clawsched:j:r"
    assert stable_session_key("session:project-x") == "project-x"
    assert stable_session_key("main") == "main"
    for bad in ("session:cron:x", "subagent:y", "agent:main:acp:z"):
        with pytest.raises(SpecError):
            stable_session_key(bad)
    with pytest.raises(SpecError):
        stable_session_key("session:")


def test_a_turn_slower_than_its_budget_times_out(stub: GatewayStub, client: GatewayClient):
    stub.delay_s = 3.0

    with pytest.raises(GatewayTimeoutError):
        client.chat(agent_id="main", message="hi", session_key="k", timeout_s=0.3)


def test_unreachable_gateway_is_transient():
    with GatewayClient("http://127.0.0.1:9", token="t") as client:
        with pytest.raises(TransientGatewayError):
            client.chat(agent_id="main", message="hi", session_key="k", timeout_s=5)
        assert client.ready() is False


# ------------------------------------------------------------------------------------------------ readiness


def test_readiness_is_cached_for_its_ttl(stub: GatewayStub, client: GatewayClient):
    assert client.ready() is True
    stub.ready = False
    assert client.ready() is True  # still inside the TTL: no second probe

    assert len(stub.requests_to("/readyz")) == 1
    assert client.ready(force=True) is False
    assert len(stub.requests_to("/readyz")) == 2


def test_readiness_reports_503_and_recovers_without_ttl(stub: GatewayStub):
    with GatewayClient(stub.url, ready_ttl_s=0) as client:
        stub.ready = False
        assert client.ready() is False
        stub.ready = True
        assert client.ready() is True
    probes = stub.requests_to("/readyz")
    assert len(probes) == 2
    assert all("authorization" not in p.headers for p in probes)


def test_readiness_falls_back_to_health_when_readyz_is_missing(stub: GatewayStub):
    stub.has_readyz = False
    with GatewayClient(stub.url, ready_ttl_s=0) as client:
        assert client.ready() is True
        assert client.ready() is True

    assert [r.path for r in stub.requests] == ["/readyz", "/health", "/health"]


# ------------------------------------------------------------------------------------ tools, hooks, messages


def test_tools_invoke_retries_a_502_then_succeeds(stub: GatewayStub, client: GatewayClient, caplog):
    stub.fail_tools_next(1, status=502)

    with caplog.at_level(logging.WARNING, logger="clawsched.workers.gateway"):
        body = client.invoke_tool("sessions_list", {"limit": 5}, session_key="main")

    calls = stub.requests_to("/tools/invoke")
    assert len(calls) == 2
    assert calls[1].body == {"tool": "sessions_list", "args": {"limit": 5}, "sessionKey": "main"}
    assert body["ok"] is True and body["result"]["details"]["sessions"] == []
    assert len([r for r in caplog.records if "attempt 1/3" in r.getMessage()]) == 1


def test_tools_invoke_gives_up_after_its_attempts(stub: GatewayStub, client: GatewayClient):
    stub.fail_tools_next(5, status=503)

    with pytest.raises(TransientGatewayError):
        client.invoke_tool("sessions_list")

    assert len(stub.requests_to("/tools/invoke")) == 3


def test_a_denied_tool_is_a_permanent_error_with_the_gateways_message(stub: GatewayStub, client: GatewayClient):
    with pytest.raises(GatewayError, match="Tool not available: cron") as caught:
        client.invoke_tool("cron", {"action": "list"})

    assert not isinstance(caught.value, TransientGatewayError)
    assert len(stub.requests_to("/tools/invoke")) == 1


def test_send_message_uses_the_message_tool_shape(stub: GatewayStub, client: GatewayClient):
    (result,) = client.send_message("telegram", "111", "hello")

    (call,) = stub.requests_to("/tools/invoke")
    assert call.body == {
        "tool": "message",
        "args": {"action": "send", "target": "111", "message": "hello", "channel": "telegram"},
    }
    assert result["result"]["details"]["messageId"] == stub.sent_messages[0]["message_id"]
    assert stub.sent_messages[0]["channel"] == "telegram" and stub.sent_messages[0]["message"] == "hello"


def test_long_telegram_text_is_split_in_order_on_word_boundaries(stub: GatewayStub, client: GatewayClient):
    words = [f"word{i}" for i in range(2500)]
    text = " ".join(words[:1200]) + "\n" + " ".join(words[1200:])

    results = client.send_message("telegram", "111", text)

    sent = [m["message"] for m in stub.sent_messages]
    assert len(sent) == len(results) >= 3
    assert all(len(chunk) <= CHANNEL_LIMITS["telegram"] for chunk in sent)
    assert " ".join(sent).split() == words
    assert stub.tool_errors == []


def test_split_message_counts_utf16_units_and_cuts_unbroken_text():
    assert split_message("", 10) == []
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    emoji = split_message("\N{GRINNING FACE}" * 10, 8)
    assert [len(c) for c in emoji] == [4, 4, 2]


def test_wake_posts_text_and_mode_with_the_hooks_token(stub: GatewayStub, client: GatewayClient):
    answer = client.wake("Scheduler wake: job-7 finished", mode="next-heartbeat")

    (call,) = stub.requests_to("/hooks/wake")
    assert call.headers["authorization"] == f"Bearer {stub.hooks_token}"
    assert call.body == {"text": "Scheduler wake: job-7 finished", "mode": "next-heartbeat"}
    assert answer == {"ok": True, "mode": "next-heartbeat", "eventOutcome": "queued"}


def test_hooks_refuse_the_gateway_token(stub: GatewayStub):
    assert stub.token
    with GatewayClient(stub.url, token=stub.token, hooks_token=stub.token) as client:
        with pytest.raises(GatewayError, match="401") as caught:
            client.wake("hi")
    assert stub.token not in str(caught.value)
    with GatewayClient(stub.url, token=stub.token) as client, pytest.raises(GatewayError, match="hooks token"):
        client.wake("hi")


def test_wake_retries_a_busy_gateway(stub: GatewayStub, client: GatewayClient):
    stub.fail_hooks_next(1, status=503)

    assert client.wake("hi")["ok"] is True
    assert len(stub.requests_to("/hooks/wake")) == 2 and len(stub.wakes) == 1


# ------------------------------------------------------------------------------------------- construction


def test_from_settings_reads_the_token_file_and_hides_it(stub: GatewayStub, tmp_path: Path):
    assert stub.token
    token_file = tmp_path / "gateway-token"
    token_file.write_text(f"{stub.token}\n")
    settings = _settings(tmp_path, gateway_url=stub.url, gateway_token_path=token_file, hooks_token="hooks-secret-9")

    with GatewayClient.from_settings(settings) as client:
        assert client.chat(agent_id="main", message="ping", session_key=None, timeout_s=10).content
        assert stub.token not in repr(client) and "hooks-secret-9" not in repr(client)

    assert stub.requests_to("/v1/chat/completions")[0].bearer == stub.token


# ---------------------------------------------------------------------------------------- the stub itself


def test_stub_speaks_the_hooks_agent_contract(stub: GatewayStub):
    hooks = {"Authorization": f"Bearer {stub.hooks_token}"}
    payload = {"message": "brief", "channel": "telegram", "to": "111", "waitForCompletion": True}
    with httpx.Client(base_url=stub.url) as http:
        first = http.post("/hooks/agent", json=payload, headers={**hooks, "Idempotency-Key": "k1"})
        again = http.post("/hooks/agent", json=payload, headers={**hooks, "Idempotency-Key": "k1"})
        partial = http.post("/hooks/agent", json={"message": "x", "channel": "telegram"}, headers=hooks)
        plain = http.post("/hooks/wake", json={"text": "x"}, headers={"Authorization": f"Bearer {stub.token}"})

    assert first.json() == again.json() and first.json()["completion"]["delivered"] is True
    assert len(stub.hook_runs) == 1 and stub.sent_messages[0]["message"] == "STUB-REPLY: brief"
    assert partial.status_code == 400
    assert (plain.status_code, plain.text) == (401, "Unauthorized")
    stub.wait_for(lambda reqs: len(reqs) == 4, timeout=1)
