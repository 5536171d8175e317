"""The gateway restarting, dying mid-turn and being down when a run is due. Each restarts the gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.contract.clawsched_cli import Clawsched
from tests.contract.gateway import Gateway
from tests.contract.jobs import flat
from tests.contract.records import Records, message_texts
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.contract, pytest.mark.services, pytest.mark.timeout(420)]


def test_a_session_job_keeps_its_history_across_a_gateway_restart(cs: Clawsched, gateway: Gateway,
                                                                  records: Records, token: str) -> None:
    job = cs.add(flat(token, f"remember {token}", session_target=f"session:ct-{token}"))
    first = cs.finished(cs.run_now(job))
    assert first["status"] == "ok"

    gateway.restart()  # SIGTERM, then a new process on the same state folder
    second = cs.finished(cs.run_now(job), timeout=180)

    assert second["status"] == "ok"
    turns = records.model(token)
    assert len(turns) == 2
    assert turns[0]["session"] == turns[1]["session"] is not None
    assert ("assistant", first["reply"]) in message_texts(turns[1])
    assert (first["session_key"], second["session_key"]) == (turns[0]["session"], turns[1]["session"])


def test_a_gateway_killed_mid_turn_leaves_the_run_unconfirmed_and_never_retried(cs: Clawsched, gateway: Gateway,
                                                                                records: Records,
                                                                                token: str) -> None:
    job = cs.add(flat(token, f"{token} STUB_SLEEP:20", max_retries=2))
    run_id = cs.run_now(job)
    wait_for(lambda: records.model(token), timeout=120, interval=0.3, what="the turn to reach the model")

    gateway.kill()
    run = cs.finished(run_id, timeout=60)
    gateway.start()

    assert run["status"] == "unconfirmed", run
    assert [r["id"] for r in cs.runs(job)] == [run_id]
    assert len(records.wire("/v1/chat/completions", token)) == 1


def test_a_run_due_while_the_gateway_is_down_waits_then_runs_once(cs: Clawsched, gateway: Gateway,
                                                                  records: Records, token: str) -> None:
    gateway.stop()
    due = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = cs.add(flat(token, f"{token} STUB_SAY[[late {token}]]", schedule_kind="at", schedule_at=due,
                      schedule_cron=None))

    waiting = wait_for(lambda: [r for r in cs.runs(job) if r["status"] == "pending" and r["skip_reason"]],
                       timeout=60, interval=0.5, what="the due run to wait for the gateway")
    assert "gateway" in waiting[0]["skip_reason"]
    assert records.wire("/v1/chat/completions", token) == []
    gateway.start()
    run = cs.finished(waiting[0]["id"], timeout=120)

    assert (run["status"], run["reply"]) == ("ok", f"late {token}")
    assert [r["id"] for r in cs.runs(job)] == [run["id"]]
    assert len(records.wire("/v1/chat/completions", token)) == 1
    assert len(records.model(token)) == 1
