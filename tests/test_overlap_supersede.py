"""Overlap ``cancel_other`` and ``terminate_other`` (Temporal's policies): a new run cancels the running
one. ``cancel_other`` lets it stop (SIGTERM, then its grace) and starts once its worker has stopped it;
``terminate_other`` SIGKILLs it and starts at once. Real worker processes, a real beat, both databases."""

from __future__ import annotations

from typing import Any

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from tests.support.waiting import wait_for
from tests.test_workflow_recovery import shell, workers


@pytest.mark.parametrize(("policy", "graceful"), [("cancel_other", True), ("terminate_other", False)])
def test_a_new_run_supersedes_the_running_one(app, store, redis, beat, settings, tmp_path, policy, graceful):
    first_mark, term = tmp_path / "first", tmp_path / "term"
    payload = (f"if [ -e {first_mark} ]; then echo second; exit 0; fi; touch {first_mark}; "
               f"trap 'echo got-term > {term}; exit 0' TERM; sleep 60 & wait")
    job = jobs.create(store, shell("supersede", payload, overlap_policy=policy))
    with workers(app, settings, tmp_path, "w1", concurrency=2):
        first = jobs.run_now(store, job.id)
        notify(redis, settings, "test")
        wait_for(lambda: runs.get(store, first).status == "running" and first_mark.exists(), timeout=20,
                 what="the first run to be running")
        second = jobs.run_now(store, job.id)
        notify(redis, settings, "test")
        done: Any = wait_for(lambda: (r := runs.get(store, second)).status in ("ok", "skipped", "error") and r,
                             timeout=30, what="the second run to end")
        old = wait_for(lambda: (r := runs.get(store, first)).finalized_at and r, timeout=10,
                       what="the superseded run to be finalised")
    assert (done.status, done.shell_stdout.strip()) == ("ok", "second"), (done.status, done.skip_reason)
    assert old.status == "cancelled"
    assert old.error_message == f"superseded by run {second} (overlap_policy={policy})"
    assert term.exists() is graceful  # cancel_other: the old run got its SIGTERM; terminate_other: SIGKILL
    if graceful:
        assert done.started_at >= old.finalized_at, "cancel_other started before the old run had stopped"
