"""Watchdog jobs: each fire runs the check command, and a stuck (or ended) target is reported once to the
alert target, after which a self-destructing watchdog disables itself. Real worker, beat and gateway stub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from clawsched.sched import jobs
from clawsched.sched.errors import SpecError
from clawsched.sched.specs import parse_job
from clawsched.sched.states import RunStatus
from clawsched.sched.store.models import Delivery, Job, utcnow
from clawsched.workers.executors.watchdog import Watch, judge
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import run_and_wait


def watchdog_job(check: str, **fields: Any) -> dict[str, Any]:
    spec = {"name": "Watchdog: deploy", "job_type": "watchdog", "session_target": "shell",
            "payload_message": "echo the payload is not the check", "run_timeout_ms": 10_000,
            "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *", "delivery_mode": "none",
            "watchdog_target_label": "deploy", "watchdog_check_cmd": check,
            "watchdog_alert_channel": "telegram", "watchdog_alert_target": "111"}
    spec.update(fields)
    return spec


def enabled(store: Any, job_id: str) -> bool:
    with store.read() as s:
        return bool(s.get(Job, job_id).enabled)


def watchdog_rows(store: Any, run_id: str) -> list[tuple[str, str, str]]:
    with store.read() as s:
        return [(d.kind, d.target, d.status) for d in s.scalars(select(Delivery).where(Delivery.run_id == run_id))]


# -- the verdict: pure ----------------------------------------------------------------------------------

START = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
WATCH = Watch(label="deploy", check_cmd="check-deploy --label deploy", timeout_min=60, started_at=START,
              self_destruct=True)


@pytest.mark.parametrize(("code", "stdout", "finding", "status", "alerts"), [
    (0, "", "healthy", RunStatus.OK, False),
    (0, '{"status": "running"}', "healthy", RunStatus.OK, False),
    (1, "", "stuck", RunStatus.ERROR, True),
    (2, "", "transient", RunStatus.SKIPPED, False),
    (0, 'log line\n{"status": "done", "summary": "deployed v2"}', "completed", RunStatus.OK, True),
    (0, '{"terminal": true}', "completed", RunStatus.OK, True),
    (0, '{"status": "interrupted"}', "failed", RunStatus.ERROR, True),
    (127, "", "broken", RunStatus.ERROR, False),
])
def test_the_check_exit_code_and_output_decide_the_verdict(code, stdout, finding, status, alerts):
    verdict = judge(WATCH, code, stdout, "", now=START + timedelta(minutes=10))
    assert (verdict.finding, verdict.status, verdict.alert is not None) == (finding, status, alerts)


def test_a_target_past_its_threshold_is_stuck_even_when_the_check_says_running():
    verdict = judge(WATCH, 0, "", "", now=START + timedelta(minutes=90))
    assert verdict.finding == "stuck" and verdict.status == RunStatus.ERROR
    assert verdict.summary == "Watchdog alert fired: running for 90min (threshold: 60min)"
    assert verdict.alert is not None and "- Running for: 90 minutes (threshold: 60 min)" in verdict.alert


def test_a_watchdog_spec_needs_somewhere_to_alert():
    with pytest.raises(SpecError) as err:
        parse_job(watchdog_job("true", watchdog_alert_target=None))
    assert [e["field"] for e in err.value.errors] == ["watchdog_alert_target"]
    assert parse_job(watchdog_job("true")).watchdog_alert_target == "111"


# -- through the worker ---------------------------------------------------------------------------------

def test_a_stuck_check_alerts_once_and_the_watchdog_disables_itself(store, gateway, redis, agent_settings,
                                                                    agent_worker, agent_beat):
    job = jobs.create(store, watchdog_job("echo 'no progress since 09:00' >&2; exit 1"))
    run = run_and_wait(store, redis, agent_settings, job.id)

    assert run.status == "error"
    assert run.error_message == "watchdog: 'deploy' appears stuck (check command reported stuck (exit 1))"
    assert run.summary.startswith("Watchdog alert fired: check command reported stuck (exit 1)")
    assert "Alert to telegram:111: delivered; the watchdog disabled itself" in run.summary
    assert (run.shell_exit_code, run.shell_stderr.strip()) == (1, "no progress since 09:00")
    [sent] = gateway.sent_messages
    assert (sent["channel"], sent["target"]) == ("telegram", "111")
    lines = sent["shown"].splitlines()
    assert lines[0] == '🚨 [watchdog] Task "deploy" appears stuck'
    assert "- Reason: check command reported stuck (exit 1)" in lines
    assert "- Error: no progress since 09:00" in lines
    assert lines[-1] == "- Watchdog: disarmed after this alert"
    assert watchdog_rows(store, run.id) == [("watchdog", "111", "delivered")]
    assert not enabled(store, job.id)


def test_a_healthy_check_is_an_ok_run_and_sends_nothing(store, gateway, redis, agent_settings, agent_worker,
                                                        agent_beat):
    job = jobs.create(store, watchdog_job("echo 'deploy: 3 of 5 hosts'"))
    run = run_and_wait(store, redis, agent_settings, job.id)

    assert run.status == "ok" and run.error_message is None
    assert run.summary.startswith("Watchdog check: 'deploy' healthy, still running (")
    assert run.shell_stdout.strip() == "deploy: 3 of 5 hosts"  # the check ran, not the payload
    assert gateway.sent_messages == [] and watchdog_rows(store, run.id) == []
    assert enabled(store, job.id)


def test_a_target_that_ended_is_reported_and_disarms_the_watchdog(store, gateway, redis, agent_settings,
                                                                  agent_worker, agent_beat):
    job = jobs.create(store, watchdog_job("""echo '{"status": "done", "summary": "deployed v2 to 5 hosts"}'"""))
    run = run_and_wait(store, redis, agent_settings, job.id)

    assert run.status == "ok"
    [sent] = gateway.sent_messages
    assert sent["shown"] == '✅ [watchdog] Task "deploy" completed -- watchdog disarmed\n\ndeployed v2 to 5 hosts'
    assert not enabled(store, job.id)


def test_without_self_destruct_every_stuck_fire_alerts_and_the_watchdog_stays_armed(
        store, gateway, redis, agent_settings, agent_worker, agent_beat):
    job = jobs.create(store, watchdog_job("exit 1", watchdog_self_destruct=False))
    first = run_and_wait(store, redis, agent_settings, job.id)
    second = run_and_wait(store, redis, agent_settings, job.id)

    assert (first.status, second.status) == ("error", "error")
    assert "the watchdog stays armed (watchdog_self_destruct off)" in second.summary
    assert [m["shown"].splitlines()[-1] for m in gateway.sent_messages] == ["- Watchdog: stays armed"] * 2
    assert enabled(store, job.id)


def test_watchdog_timeout_min_counts_from_watchdog_started_at(store, gateway, redis, agent_settings, agent_worker,
                                                              agent_beat):
    job = jobs.create(store, watchdog_job("true", watchdog_timeout_min=60))
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job.id).values(watchdog_started_at=utcnow() - timedelta(minutes=95)))
    run = run_and_wait(store, redis, agent_settings, job.id)

    assert run.status == "error"
    assert run.summary.startswith("Watchdog alert fired: running for 95min (threshold: 60min)")
    [sent] = gateway.sent_messages
    assert "- Reason: running for 95min (threshold: 60min)" in sent["shown"].splitlines()


def test_a_transient_check_failure_is_skipped_without_an_alert(store, gateway, redis, agent_settings, agent_worker,
                                                               agent_beat):
    job = jobs.create(store, watchdog_job("echo 'gateway busy' >&2; exit 2"))
    run = run_and_wait(store, redis, agent_settings, job.id)

    assert run.status == "skipped"
    assert run.summary == "Watchdog check failed (transient, exit 2), no verdict: gateway busy"
    assert gateway.sent_messages == [] and enabled(store, job.id)


def test_an_alert_that_cannot_be_sent_leaves_the_watchdog_armed(store, gateway, redis, agent_settings, agent_worker,
                                                                agent_beat):
    job = jobs.create(store, watchdog_job("exit 1", watchdog_alert_channel=None, watchdog_alert_target="@oncall"))
    run = run_and_wait(store, redis, agent_settings, job.id)

    assert run.status == "error"
    assert "Alert to @oncall: failed (its deliveries row says why); the watchdog stays armed." in run.summary
    assert gateway.sent_messages == []
    assert watchdog_rows(store, run.id) == [("watchdog", "@oncall", "failed")]
    assert enabled(store, job.id)
