"""Issue 19, D2: a user's regex cannot pin a worker, and a post-run pipeline that never completes cannot
be retried by the reconciler forever.

``regex:(a+)+$`` against 40 ``a`` and a ``!`` backtracks for ever in Python's ``re``; conditions are
searched with the ``regex`` module under a time limit. A condition that the limit cuts short refuses its
child, recorded ``skipped`` with the reason. The chain test runs a real worker process, so that a wedged
child process (the old behaviour) cannot take the test process with it.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import SpecError
from clawsched.sched.outcomes import Outcome
from clawsched.sched.rules import chains
from clawsched.sched.runtime import Runtime
from clawsched.sched.states import RunStatus
from clawsched.sched.store.tables import utcnow
from clawsched.workers.upkeep import finalize
from tests.support.lifecycle import finish_run, start_run
from tests.support.waiting import wait_for
from tests.support.worker_process import worker_process

AS = "a" * 40 + "!"
CATASTROPHIC = "regex:(a+)+$"  # the pattern: exponential in re, decided at once by the regex module
TOO_SLOW = "regex:(a|aa)+$"  # exponential in both engines: the time limit decides


def shell(name: str, payload: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "session_target": "shell", "payload_message": payload, "run_timeout_ms": 60_000,
            "schedule_cron": "0 0 1 1 *", **fields}


def child(parent_id: str, name: str, condition: str) -> dict[str, Any]:
    return {"name": name, "session_target": "shell", "payload_message": "echo child", "run_timeout_ms": 60_000,
            "parent_id": parent_id, "trigger_on": "success", "trigger_condition": condition}


@pytest.mark.timeout(20)  # re would never return; the signal-based timeout interrupts it in this thread
def test_the_catastrophic_pattern_is_decided_within_a_bound():
    began = time.monotonic()
    assert chains.condition_matches(CATASTROPHIC, AS) is False
    assert time.monotonic() - began < 2
    assert chains.evaluate_condition(CATASTROPHIC, AS) == chains.Verdict(False)  # decided: no match, no refusal
    began = time.monotonic()
    verdict = chains.evaluate_condition(TOO_SLOW, AS)
    assert time.monotonic() - began < 2
    assert verdict.holds is False and verdict.refused is not None
    assert f"did not finish within {chains.REGEX_TIMEOUT_S:g} s" in verdict.refused
    assert "41 characters" in verdict.refused
    assert chains.evaluate_condition(TOO_SLOW, "a" * 12).holds is True  # the same pattern on a short text


def test_conditions_are_validated_by_the_engine_that_evaluates_them(store):
    parent = jobs.create(store, shell("d2-validate", "true"))
    with pytest.raises(SpecError, match="trigger_condition") as refused:
        jobs.create(store, child(parent.id, "unclosed", "regex:(unclosed"))
    assert [e["field"] for e in refused.value.errors] == ["trigger_condition"]
    lookbehind = jobs.create(store, child(parent.id, "lookbehind", r"regex:(?<=ERROR:\s+)disk"))  # re refuses this
    assert chains.condition_matches(lookbehind.trigger_condition, "ERROR:   disk full") is True


def test_a_chain_whose_condition_cannot_finish_skips_its_child_and_the_worker_runs_on(app, store, redis, beat,
                                                                                      settings, tmp_path):
    parent = jobs.create(store, shell("d2-parent", f"printf '%s' '{AS}'"))
    decided = jobs.create(store, child(parent.id, "d2-decided", CATASTROPHIC))
    undecided = jobs.create(store, child(parent.id, "d2-undecided", TOO_SLOW))
    bystander = jobs.create(store, shell("d2-bystander", "echo alive"))
    with worker_process(app, settings, tmp_path / "worker.log", concurrency=2) as worker:
        parent_run = jobs.run_now(store, parent.id)
        notify(redis, settings, "test")
        skipped = wait_for(lambda: runs.for_job(store, undecided.id), timeout=20,
                           what="the undecided child to be recorded (a wedged worker never records it)")
        finished = wait_for(lambda: (r := runs.get(store, parent_run)).finalized_at and r, timeout=10,
                            what="the parent's pipeline to complete")
        later = jobs.run_now(store, bystander.id)
        notify(redis, settings, "test")
        alive = wait_for(lambda: (r := runs.get(store, later)).status == "ok" and r, timeout=20,
                         what=f"another job's run on the same worker\n{worker.output()[-2000:]}")
    assert finished.status == "ok" and finished.shell_stdout == AS
    assert [(r.status, r.triggered_by_run) for r in skipped] == [("skipped", parent_run)]
    assert "did not finish within" in skipped[0].skip_reason and "trigger_condition" in skipped[0].skip_reason
    assert runs.for_job(store, decided.id) == []  # decided quickly: no match, so no child run
    assert alive.shell_stdout.strip() == "alive"


@contextmanager
def poisoned_child_inserts(store: Any, parent_run: str):
    """A real, lasting fault: every insert of a child run of ``parent_run`` fails in the database."""
    if store.dialect == "sqlite":
        create = [f"CREATE TRIGGER d2_poison BEFORE INSERT ON runs WHEN NEW.triggered_by_run = '{parent_run}' "
                  "BEGIN SELECT abs(-9223372036854775807 - 1); END"]  # integer overflow: an error, every time
        drop = ["DROP TRIGGER IF EXISTS d2_poison"]
    else:
        create = ["CREATE OR REPLACE FUNCTION d2_poison() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN RAISE EXCEPTION 'poisoned child insert'; END $$",
                  "DROP TRIGGER IF EXISTS d2_poison ON runs",
                  f"CREATE TRIGGER d2_poison BEFORE INSERT ON runs FOR EACH ROW "
                  f"WHEN (NEW.triggered_by_run = '{parent_run}') EXECUTE FUNCTION d2_poison()"]
        drop = ["DROP TRIGGER IF EXISTS d2_poison ON runs", "DROP FUNCTION IF EXISTS d2_poison()"]
    with store.engine.begin() as conn:
        for sql in create:
            conn.exec_driver_sql(sql)
    try:
        yield
    finally:
        with store.engine.begin() as conn:
            for sql in drop:
                conn.exec_driver_sql(sql)


def test_a_pipeline_that_keeps_failing_is_quarantined_after_its_attempts(store, settings, caplog):
    parent = jobs.create(store, shell("d2-poison", "true"))
    kid = jobs.create(store, child(parent.id, "d2-poison-child", "contains:x"))
    run_id = jobs.run_now(store, parent.id)
    _queue(store, run_id)
    assert start_run(store, run_id)
    finish_run(store, run_id, Outcome(RunStatus.OK, shell={"shell_stdout": "x"}))  # its pipeline never ran
    rt = Runtime(settings)
    later = utcnow() + finalize.GRACE + timedelta(seconds=1)
    passes = finalize.MAX_PIPELINE_ATTEMPTS + 3
    try:
        with poisoned_child_inserts(store, run_id), caplog.at_level(logging.WARNING):
            seen = [finalize.finalize_orphans(rt, None, later) for _ in range(passes)]
    finally:
        rt.close()
    failures = [r for r in caplog.records if "post-run step chains failed" in r.getMessage()]
    assert len(failures) == finalize.MAX_PIPELINE_ATTEMPTS, f"attempted {len(failures)} times in {passes} passes"
    quarantined = [r for r in caplog.records if "quarantined" in r.getMessage()]
    assert len(quarantined) == 1 and quarantined[0].levelno == logging.ERROR and run_id in quarantined[0].getMessage()
    assert seen[-1] == 0, "a quarantined run is not read by the pass any more"
    row = runs.get(store, run_id)
    assert row.finalized_at is None and row.pipeline_attempts == finalize.MAX_PIPELINE_ATTEMPTS + 1
    assert runs.for_job(store, kid.id) == []


def _queue(store: Any, run_id: str) -> None:
    from sqlalchemy import update

    from clawsched.sched.store.models import Run

    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(status="queued"))
