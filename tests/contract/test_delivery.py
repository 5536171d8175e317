"""Delivery to the fake Telegram through the real gateway: modes, text as printed, Telegram down."""

from __future__ import annotations

import pytest

from tests.contract.clawsched_cli import Clawsched
from tests.contract.gateway import Gateway
from tests.contract.jobs import flat, to_telegram
from tests.contract.records import Records
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.contract, pytest.mark.services, pytest.mark.timeout(420)]


def shell(token: str, command: str, mode: str) -> dict[str, object]:
    return flat(token, command, session_target="shell", run_timeout_ms=30_000, **to_telegram(mode))


def test_flat_announce_posts_only_failures_and_announce_always_posts_every_run(cs: Clawsched, records: Records,
                                                                               token: str) -> None:
    ok, failed, always = f"{token}ok", f"{token}fail", f"{token}all"
    jobs = {ok: cs.add(flat(ok, f"{ok} STUB_SAY[[all good {ok}]]", **to_telegram("announce"))),
            failed: cs.add(flat(failed, f"{failed} STUB_SAY[[TASK_FAILED]]", **to_telegram("announce"))),
            always: cs.add(flat(always, f"{always} STUB_SAY[[all good {always}]]", **to_telegram("announce-always")))}

    runs = {token: cs.run_now(job) for token, job in jobs.items()}
    finished = {token: cs.finished(run) for token, run in runs.items()}

    assert {t: r["status"] for t, r in finished.items()} == {ok: "ok", failed: "error", always: "ok"}
    assert records.delivered(ok) == []
    assert len(records.delivered(failed)) == 1
    assert records.delivered(always) == [f"all good {always}"]


def test_text_with_markup_characters_is_shown_verbatim(cs: Clawsched, records: Records, token: str) -> None:
    line = f"a<b & c>d 2*3*4 snake_case_name {token}"
    job = cs.add(shell(token, f"echo '{line}'", "announce-always"))

    run = cs.finished(cs.run_now(job))

    assert run["status"] == "ok"
    # the one addition is U+2060, a zero-width word joiner after "<" that keeps the gateway from reading
    # "<b & c>" as a tag; the chat shows it as nothing
    assert [text.replace("\u2060", "") for text in records.delivered(token)] == [line]


def test_telegram_down_then_back_delivers_once_and_the_row_is_unconfirmed(cs: Clawsched, gateway: Gateway,
                                                                          records: Records, token: str) -> None:
    job = cs.add(shell(token, f"echo 'while telegram was down {token}'", "announce-always"))
    gateway.telegram_down(True)

    run = cs.finished(cs.run_now(job))
    rows = cs.deliveries(run["id"])
    gateway.telegram_down(False)

    assert run["status"] == "ok"
    assert [(r["kind"], r["status"]) for r in rows] == [("announce", "unconfirmed")]
    arrived = wait_for(lambda: records.delivered(token), timeout=180, interval=1.0,
                       what="the gateway's queued send to reach Telegram once it is back")
    assert arrived == [f"while telegram was down {token}"]
    assert len(records.wire("/tools/invoke", token)) == 1


def test_telegram_failing_sends_leaves_the_row_unconfirmed_and_nothing_is_sent_twice(
        cs: Clawsched, gateway: Gateway, records: Records, token: str) -> None:
    job = cs.add(shell(token, f"echo 'while telegram answered 500 {token}'", "announce-always"))
    gateway.telegram_failing(True)

    run = cs.finished(cs.run_now(job))
    rows = cs.deliveries(run["id"])
    gateway.telegram_failing(False)

    assert run["status"] == "ok"
    assert [(r["kind"], r["status"]) for r in rows] == [("announce", "unconfirmed")]
    assert len(records.sent(token)) == 1  # Telegram may have shown it; neither the gateway nor clawsched resends
    assert len(records.wire("/tools/invoke", token)) == 1
