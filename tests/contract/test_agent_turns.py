"""Agent turns through the real gateway: isolated (both dialects), the main session's wake, a silent reply."""

from __future__ import annotations

import pytest

from tests.contract.clawsched_cli import Clawsched
from tests.contract.gateway import PROFILE, PROFILE_KEY
from tests.contract.jobs import cron_tool, flat, to_telegram
from tests.contract.records import Records, message_texts
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.contract, pytest.mark.services, pytest.mark.timeout(420)]


def test_an_isolated_flat_job_runs_ok_and_records_the_reply(cs: Clawsched, records: Records, token: str) -> None:
    job = cs.add(flat(token, f"{token} STUB_SAY[[reply {token}]]", **to_telegram()))

    run = cs.finished(cs.run_now(job))

    assert (run["status"], run["reply"]) == ("ok", f"reply {token}")
    assert len(records.wire("/v1/chat/completions", token)) == 1
    assert len(records.model(token)) == 1


def test_a_cron_tool_announce_job_delivers_its_final_reply_once(cs: Clawsched, records: Records,
                                                                token: str) -> None:
    job = cs.add(cron_tool(token, f"{token} STUB_SAY[[final {token}]]",
                           {"mode": "announce", "channel": "telegram", "to": "111"}))

    run = cs.finished(cs.run_now(job))

    assert (run["status"], run["reply"]) == ("ok", f"final {token}")
    assert records.delivered(token) == [f"final {token}"]
    assert len(records.wire("/tools/invoke", token)) == 1


def test_a_main_job_wakes_the_gateway_into_a_heartbeat_turn_with_its_text(cs: Clawsched, records: Records,
                                                                          token: str) -> None:
    job = cs.add(flat(token, f"wake text {token}", session_target="main"))

    run = cs.finished(cs.run_now(job))

    assert run["status"] == "ok"
    wakes = records.wire("/hooks/wake", token)
    assert len(wakes) == 1
    seen = wait_for(lambda: records.model(token), timeout=90, interval=0.5, what="the model to see the wake")
    users = [text for role, text in message_texts(seen[0]) if role == "user"]
    assert any(f"wake text {token}" in text for text in users)
    assert any("heartbeat" in text.lower() for text in users), users


def test_a_silent_reply_is_ok_and_posts_nothing(cs: Clawsched, records: Records, token: str) -> None:
    job = cs.add(flat(token, f"{token} STUB_SILENT", **to_telegram("announce-always")))

    run = cs.finished(cs.run_now(job))

    assert (run["status"], run["error_message"]) == ("ok", None)
    assert records.sent(token) == []
    assert records.wire("/tools/invoke", token) == []


def test_a_stalled_turn_is_given_up_after_twice_its_payload_timeout(cs: Clawsched, records: Records,
                                                                    token: str) -> None:
    job = cs.add(flat(token, f"{token} STUB_SLEEP:40", payload_timeout_seconds=3, max_retries=1))

    run = cs.finished(cs.run_now(job), timeout=60)

    assert run["status"] == "unconfirmed", run
    assert "idle for 6s" in run["error_message"]
    assert [r["id"] for r in cs.runs(job)] == [run["id"]]
    assert len(records.wire("/v1/chat/completions", token)) == 1


def test_an_auth_profile_goes_with_the_backend_model(cs: Clawsched, records: Records, token: str) -> None:
    job = cs.add(flat(token, f"{token} STUB_SAY[[profiled {token}]]", payload_model="stub/stub-model",
                      auth_profile=PROFILE))

    run = cs.finished(cs.run_now(job))

    [sent] = records.wire("/v1/chat/completions", token)
    assert sent["headers"].get("x-openclaw-model") == f"stub/stub-model@{PROFILE}"
    assert (run["status"], run["reply"]) == ("ok", f"profiled {token}")
    [turn] = records.model(token)
    assert turn["headers"].get("authorization") == f"Bearer {PROFILE_KEY}"  # the profile was used
