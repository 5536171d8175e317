"""The post-run pipeline consumes each outcome exactly once whether it runs inline in the run task (the
default) or as a Celery ``link`` callback task (``CLAWSCHED_POST_RUN=callback``)."""

from __future__ import annotations

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from tests.support.waiting import wait_for


@pytest.fixture(params=["inline", "callback"])
def settings(request, settings):  # noqa: F811 - the suite's settings, in each post-run mode
    return settings.with_(post_run=request.param)


def test_a_parent_run_triggers_its_child_once_and_is_finalised(store, redis, worker, beat, settings):
    parent = jobs.create(store, {"name": "parent", "session_target": "shell", "payload_message": "echo ALERT",
                                 "run_timeout_ms": 5000, "schedule_cron": "0 0 1 1 *"})
    child = jobs.create(store, {"name": "child", "session_target": "shell", "payload_message": "echo child",
                                "run_timeout_ms": 5000, "parent_id": parent.id, "trigger_on": "success",
                                "trigger_condition": "contains:ALERT"})
    run_id = jobs.run_now(store, parent.id)
    notify(redis, settings, "test")
    child_run = wait_for(lambda: (r := runs.for_job(store, child.id)) and r[0].status == "ok" and r[0], timeout=10)
    assert child_run.triggered_by_run == run_id
    wait_for(lambda: runs.get(store, run_id).finalized_at is not None, timeout=10, what="the parent finalised")
    assert len(runs.for_job(store, child.id)) == 1
    assert wait_for(lambda: runs.get(store, child_run.id).finalized_at, timeout=10)
