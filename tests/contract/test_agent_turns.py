"""Agent turns through the real gateway: isolated (both dialects), the main session's wake, a silent reply."""

from __future__ import annotations

import pytest

from tests.contract.clawsched_cli import Clawsched
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
