"""Budgets: a run that would go past its job's ``tokens_per_day`` or ``runs_per_hour`` is recorded
``skipped`` with the reason, counted, and the next window runs again. Real SQLite and PostgreSQL, a real
Redis; the worker's own execution path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clawsched.sched import jobs, metrics, runs
from clawsched.sched.errors import SpecError
from clawsched.sched.rules.budgets import Windows, tokens
from clawsched.sched.states import RunStatus
from clawsched.sched.store.tables import utcnow
from clawsched.workers import execution
from clawsched.workers.post_run import pipeline
from tests.support.agent_fixtures import *  # noqa: F403


@pytest.fixture
def runtime(settings, redis):
    from clawsched.sched.runtime import Runtime

    rt = Runtime(settings.with_(post_run="inline"))
    yield rt
    rt.close()


def budgeted(store: Any, budget: Any) -> Any:
    return jobs.create(store, {"name": "reporter", "session_target": "shell", "payload_message": "echo ran",
                               "run_timeout_ms": 5000, "schedule_cron": "0 0 1 1 *", "overlap_policy": "allow",
                               "budget": budget})


def earlier_run(store: Any, job_id: str, started: Any, used: int | None = None) -> str:
    return runs.enqueue(store, job_id, status=RunStatus.OK, started_at=started, finished_at=started,
                        usage={"total_tokens": used} if used is not None else None)


def test_a_budget_exhausted_by_recorded_usage_skips_the_next_run_and_the_next_window_runs(store, runtime):
    job = budgeted(store, {"tokens_per_day": 100})
    today = Windows.at(utcnow()).day
    spent = [earlier_run(store, job.id, today, 60), earlier_run(store, job.id, today, 50)]
    before = metrics.WORKER.get_sample_value("clawsched_budget_skips_total", {"limit": "tokens_per_day"}) or 0
    run_id = runs.enqueue(store, job.id, status=RunStatus.QUEUED)
    assert execution.execute_and_process(runtime, run_id) == RunStatus.SKIPPED
    reason = runs.get(store, run_id).skip_reason
    assert reason.startswith(f"budget: tokens_per_day 100 reached (110 used since {today:%Y-%m-%dT%H:%MZ}); "
                             f"runs again from {today + timedelta(days=1):%Y-%m-%dT%H:%MZ}"), reason
    assert metrics.WORKER.get_sample_value("clawsched_budget_skips_total", {"limit": "tokens_per_day"}) == before + 1
    # a day later the same usage lies in yesterday's window: the next run runs
    runs_of_yesterday = {"started_at": today - timedelta(hours=1)}
    from sqlalchemy import update

    from clawsched.sched.store.models import RUNS
    with store.session() as s:
        s.execute(update(RUNS).where(RUNS.c.id.in_(spent)).values(**runs_of_yesterday))
    again = runs.enqueue(store, job.id, status=RunStatus.QUEUED)
    assert execution.execute_and_process(runtime, again) == RunStatus.OK


def test_runs_per_hour_counts_the_runs_started_this_hour(store, runtime):
    job = budgeted(store, {"runs_per_hour": 2})
    hour = Windows.at(utcnow()).hour
    earlier_run(store, job.id, hour - timedelta(minutes=1))  # last hour's: not counted
    earlier_run(store, job.id, hour)
    first = runs.enqueue(store, job.id, status=RunStatus.QUEUED)
    assert execution.execute_and_process(runtime, first) == RunStatus.OK  # the second of this hour
    second = runs.enqueue(store, job.id, status=RunStatus.QUEUED)
    assert execution.execute_and_process(runtime, second) == RunStatus.SKIPPED
    assert runs.get(store, second).skip_reason.startswith("budget: runs_per_hour 2 reached (2 runs since")


def test_a_budget_names_a_bad_field_and_nothing_is_written(store):
    for bad, field in (({"tokens_per_days": 5}, "budget.tokens_per_days"),
                       ({"runs_per_hour": 0}, "budget.runs_per_hour")):
        with pytest.raises(SpecError) as refused:
            budgeted(store, bad)
        assert any(e["field"] == field for e in refused.value.errors), refused.value.errors
    assert jobs.list_jobs(store) == []


def test_tokens_are_read_in_either_spelling_of_the_gateways_usage():
    assert tokens({"total_tokens": 7}) == 7 and tokens({"input_tokens": 3, "output_tokens": 4}) == 7
    assert tokens({"inputTokens": 1, "outputTokens": 2}) == 3 and tokens(None) == 0 and tokens({"model": "x"}) == 0


def test_the_first_budget_skip_of_a_window_alerts_and_the_others_do_not(store, rt, gateway):
    from tests.support.agent_fixtures import agent_job, finished_run

    job = jobs.create(store, agent_job(budget={"runs_per_hour": 1}, failure_alert={"channel": "telegram", "to": "77"}))
    reason = "budget: runs_per_hour 1 reached (1 runs since ...); runs again from ..."
    for _ in range(3):
        pipeline.process(rt, finished_run(store, job, "skipped", skip_reason=reason).id, now=utcnow())
    alerts = [m for m in gateway.sent_messages if m["target"] == "77"]
    assert len(alerts) == 1 and "budget: runs" in alerts[0]["message"]  # once, escaped for the channel
