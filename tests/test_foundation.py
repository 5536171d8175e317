"""End to end on real Redis, real Celery workers and a real beat, against SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from clawsched.sched import jobs, output, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import NotFound
from clawsched.sched.outcomes import Outcome
from clawsched.sched.store.models import Job, Run, utcnow
from tests.conftest import BeatThread
from tests.support.lifecycle import finish_run, start_run
from tests.support.waiting import wait_for


def shell_job(**fields: Any) -> dict[str, Any]:
    spec = {"name": "t", "session_target": "shell", "payload_message": "echo hi", "run_timeout_ms": 10_000,
            "schedule_kind": "every", "schedule_every_ms": 1000}
    spec.update(fields)
    return spec


def finished_runs(store: Any, job_id: str) -> list[Run]:
    return [r for r in runs.for_job(store, job_id, 100) if r.finished_at is not None]


def ok_runs(store: Any, job_id: str) -> list[Run]:
    """Finished runs that ran: on a loaded machine a fire may find the previous run still going (skipped)."""
    return [r for r in finished_runs(store, job_id) if r.status != "skipped"]


def test_every_job_fires_repeatedly_and_records_each_run(store, redis, worker, beat):
    job = jobs.create(store, shell_job(payload_message="echo out-$CLAWSCHED_RUN_ID; echo err >&2"))
    done = wait_for(lambda: len(ok_runs(store, job.id)) >= 3 and ok_runs(store, job.id), timeout=15)
    instants = sorted(r.scheduled_for for r in done)
    assert len(set(instants)) == len(instants)
    assert all((b - a) >= timedelta(seconds=1) for a, b in zip(instants, instants[1:], strict=False))
    for run in done:
        assert run.status == "ok"
        assert run.shell_exit_code == 0
        assert run.shell_stdout.strip() == f"out-{run.id}"
        assert run.shell_stderr.strip() == "err"
        assert run.duration_ms is not None and run.duration_ms >= 0
        assert run.hostname and run.pid
        assert run.trigger == "schedule"


def test_failing_run_records_exit_code_and_backs_off(store, redis, worker, beat):
    job = jobs.create(store, shell_job(payload_message="echo boom >&2; exit 3"))
    run = wait_for(lambda: (f := finished_runs(store, job.id)) and f[-1], timeout=10)
    assert run.status == "error"
    assert run.shell_exit_code == 3
    assert run.error_message == "exit code 3"
    assert run.summary == "boom"
    after = jobs.get(store, job.id)
    assert after.consecutive_errors == 1
    assert after.next_run_at >= run.finished_at + timedelta(seconds=29)  # the 30 s error backoff


def test_at_job_runs_once_and_delete_after_run_removes_it(store, redis, worker, beat):
    at = (utcnow() + timedelta(seconds=1)).isoformat()
    keep = jobs.create(store, shell_job(schedule_kind="at", schedule_at=at, schedule_every_ms=None))
    gone = jobs.create(store, shell_job(name="once", schedule_kind="at", schedule_at=at, schedule_every_ms=None,
                                        delete_after_run=True))
    notify(redis, store_settings(beat), "test")
    wait_for(lambda: len(finished_runs(store, keep.id)) == 1, timeout=10)
    wait_for(lambda: _missing(store, gone.id), timeout=10, what="the delete_after_run job to be removed")
    kept = jobs.get(store, keep.id)
    assert kept.enabled is False and kept.next_run_at is None
    assert kept.last_status == "ok"
    assert len(runs.for_job(store, keep.id)) == 1


def store_settings(beat: BeatThread) -> Any:
    return beat.service.app.clawsched_settings


def _missing(store: Any, job_id: str) -> bool:
    try:
        jobs.get(store, job_id)
        return False
    except NotFound:
        return True


def test_run_now_is_started_by_a_woken_beat_not_by_polling(app, store, redis, worker, settings):
    slow_beat_settings = settings.with_(beat_max_interval_s=60.0)
    app.clawsched_settings = slow_beat_settings
    job = jobs.create(store, shell_job(schedule_kind="cron", schedule_cron="0 0 1 1 *", schedule_every_ms=None))
    b = BeatThread(app).start()
    try:
        wait_for(lambda: _beat_idle(b), timeout=10, what="beat to settle")
        run_id = jobs.run_now(store, job.id)
        assert notify(redis, settings, "run now")
        run = wait_for(lambda: (r := runs.get(store, run_id)).started_at and r, timeout=5)
        assert run.trigger == "manual"
        assert (run.started_at - run.created_at) < timedelta(seconds=1)
    finally:
        b.stop()


def _beat_idle(b: BeatThread) -> bool:
    return b.service.scheduler is not None and getattr(b.service.scheduler, "_wake", None) is not None


def test_two_beats_fire_each_due_instant_exactly_once(app, store, redis, settings):
    created = [jobs.create(store, shell_job(name=f"j{i}")) for i in range(50)]
    beats = [BeatThread(app).start(), BeatThread(app).start()]
    try:
        wait_for(lambda: _count(store) >= 250, timeout=20, what="250 fires")
    finally:
        for b in beats:
            b.stop()
    with store.read() as s:
        rows = s.execute(select(Run.job_id, Run.scheduled_for)).all()
    assert len(rows) == len(set(rows)) >= 250
    per_job: dict[str, list] = {}
    for job_id, instant in rows:
        per_job.setdefault(job_id, []).append(instant)
    assert set(per_job) == {j.id for j in created}
    for instants in per_job.values():
        instants.sort()
        assert all(b - a == timedelta(seconds=1) for a, b in zip(instants, instants[1:], strict=False))
    # every claimed fire was sent exactly once: the queue holds one message per run
    messages = [json.loads(m) for m in redis.lrange(f"{settings.namespace}:{settings.run_queue('shell')}", 0, -1)]
    sent = [m for m in messages if m["headers"]["task"] == "clawsched.run"]
    assert len(sent) == len(rows)
    assert len({json.loads(base64.b64decode(m["body"]))[0][0] for m in sent}) == len(rows)


def _count(store: Any) -> int:
    with store.read() as s:
        return int(s.scalar(select(func.count()).select_from(Run)) or 0)


def test_timeout_kills_the_whole_process_group(store, redis, worker, beat, tmp_path):
    pids = tmp_path / "pids"
    job = jobs.create(store, shell_job(
        schedule_kind="cron", schedule_cron="0 0 1 1 *", schedule_every_ms=None, run_timeout_ms=700,
        payload_message=f"sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; sleep 60",
    ))
    run_id = jobs.run_now(store, job.id)
    notify(redis, store_settings(beat), "test")
    run = wait_for(lambda: (r := runs.get(store, run_id)).finished_at and r, timeout=15)
    assert run.status == "timeout"
    assert run.shell_timed_out is True
    assert run.shell_signal in ("SIGTERM", "SIGKILL")
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 2
    wait_for(lambda: not any(_alive(p) for p in recorded), timeout=5, what="the job's processes to be gone")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is gone for our purposes
        return fh.read().split()[2] != "Z"


def test_large_output_is_offloaded_and_returned_whole(store, redis, worker, beat):
    job = jobs.create(store, shell_job(
        schedule_kind="cron", schedule_cron="0 0 1 1 *", schedule_every_ms=None,
        payload_message="python3 -c \"import sys; [sys.stdout.write(f'{i:09d}\\n') for i in range(500000)]\"",
    ))
    run_id = jobs.run_now(store, job.id)
    notify(redis, store_settings(beat), "test")
    run = wait_for(lambda: (r := runs.get(store, run_id)).finished_at and r, timeout=20)
    assert run.status == "ok", run.error_message
    assert run.shell_stdout_bytes == 5_000_000
    assert run.shell_stdout_path and not os.path.exists(run.shell_stdout_path)  # offloaded to the database
    assert len(run.shell_stdout.encode()) < 70_000  # the row keeps an excerpt only
    full = output.read(store, run, "stdout")
    assert len(full) == 5_000_000
    assert full.splitlines()[123456] == "000123456"
    pieces = list(output.chunks(store, run, "stdout"))  # what `runs output` prints: a megabyte at a time
    assert [len(p) for p in pieces] == [1 << 20] * 4 + [5_000_000 - 4 * (1 << 20)] and "".join(pieces) == full


def test_skip_overlap_records_a_skipped_run(store, redis, worker, beat, tmp_path):
    gate = tmp_path / "release"
    job = jobs.create(store, shell_job(
        schedule_kind="cron", schedule_cron="0 0 1 1 *", schedule_every_ms=None,
        payload_message=f"while [ ! -e {gate} ]; do sleep 0.05; done",
    ))
    first = jobs.run_now(store, job.id)
    notify(redis, store_settings(beat), "test")
    wait_for(lambda: runs.get(store, first).status == "running", timeout=10)
    second = jobs.run_now(store, job.id)
    notify(redis, store_settings(beat), "test")
    skipped = wait_for(lambda: (r := runs.get(store, second)).status == "skipped" and r, timeout=10)
    assert "overlap" in skipped.skip_reason
    gate.touch()
    wait_for(lambda: runs.get(store, first).status == "ok", timeout=10)
    assert jobs.get(store, job.id).consecutive_errors == 0


def test_allow_overlap_runs_concurrently(store, redis, worker, beat, tmp_path):
    gate = tmp_path / "release"
    job = jobs.create(store, shell_job(
        schedule_kind="cron", schedule_cron="0 0 1 1 *", schedule_every_ms=None, overlap_policy="allow",
        payload_message=f"while [ ! -e {gate} ]; do sleep 0.05; done",
    ))
    ids = [jobs.run_now(store, job.id) for _ in range(2)]
    notify(redis, store_settings(beat), "test")
    # both held by the gate at once: with overlap refused (skip) or deferred (queue) this never happens
    running = wait_for(lambda: all(runs.get(store, i).status == "running" for i in ids)
                       and [runs.get(store, i) for i in ids], timeout=10, what="both runs to be running at once")
    assert all(r.started_at is not None and r.finished_at is None for r in running)
    gate.touch()
    done = wait_for(lambda: all(runs.get(store, i).status == "ok" for i in ids)
                    and [runs.get(store, i) for i in ids], timeout=10, what="both runs to finish")
    assert [r.status for r in done] == ["ok", "ok"] and len({r.id for r in done}) == 2
    assert all(r.skip_reason is None and r.shell_exit_code == 0 for r in done)
    latest_start, earliest_end = max(r.started_at for r in done), min(r.finished_at for r in done)
    assert latest_start < earliest_end, f"no overlap: a run started at {latest_start}, after one ended {earliest_end}"
    assert len(runs.for_job(store, job.id)) == 2  # none skipped, none added


def test_lost_messages_are_resent_by_maintenance(app, store, redis, settings, worker):
    job = jobs.create(store, shell_job(schedule_kind="cron", schedule_cron="0 0 1 1 *", schedule_every_ms=None))
    with store.session() as s:
        s.add(Run(id="lostrun", job_id=job.id, status="queued", trigger="manual",
                  created_at=utcnow() - timedelta(minutes=5), dispatched_at=utcnow() - timedelta(minutes=5)))
    from clawsched.workers.tasks import runtime_of
    from clawsched.workers.upkeep import requeue

    assert requeue.requeue_lost(runtime_of(app), app, utcnow()) == 1
    wait_for(lambda: runs.get(store, "lostrun").status == "ok", timeout=10)


@pytest.mark.parametrize("field,value,needle", [
    ("schedule_cron", "61 * * * *", "schedule_cron"),
    ("schedule_tz", "Mars/Olympus", "schedule_tz"),
    ("surprise", 1, "surprise"),
    ("run_timeout_ms", "soon", "run_timeout_ms"),
])
def test_bad_specs_are_rejected_and_write_nothing(store, field, value, needle):
    from clawsched.sched.errors import SpecError

    spec = shell_job(schedule_kind="cron", schedule_cron="*/5 * * * *", schedule_every_ms=None)
    spec[field] = value
    with pytest.raises(SpecError) as info:
        jobs.create(store, spec)
    assert needle in str(info.value) or any(e.get("field") == needle for e in info.value.errors)
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_shell_job_without_timeout_is_rejected(store):
    from clawsched.sched.errors import SpecError

    spec = shell_job()
    del spec["run_timeout_ms"]
    with pytest.raises(SpecError) as info:
        jobs.create(store, spec)
    assert "run_timeout_ms" in str(info.value)
    assert jobs.list_jobs(store) == []


def test_dry_run_writes_nothing(store):
    job = jobs.create(store, shell_job(), dry_run=True)
    assert job.name == "t" and job.next_run_at is not None
    assert jobs.list_jobs(store) == []


def test_chain_depth_and_cycles_are_refused(store):
    from clawsched.sched.errors import SpecError

    parent = jobs.create(store, shell_job(name="root"))
    chain = [parent]
    for i in range(10):
        chain.append(jobs.create(store, {"name": f"c{i}", "session_target": "shell", "payload_message": "true",
                                         "run_timeout_ms": 1000, "parent_id": chain[-1].id, "trigger_on": "success"}))
    with pytest.raises(SpecError, match="parent_id"):
        jobs.create(store, {"name": "too deep", "session_target": "shell", "payload_message": "true",
                            "run_timeout_ms": 1000, "parent_id": chain[-1].id, "trigger_on": "success"})
    with pytest.raises(SpecError, match="cycle"):
        jobs.update(store, chain[1].id, {"parent_id": chain[3].id})


def test_guarded_transitions_ignore_duplicates(store):
    job = jobs.create(store, shell_job())
    run_id = jobs.run_now(store, job.id)
    assert start_run(store, run_id, "h", 1) is False  # still pending, not queued
    with store.session() as s:
        s.get(Run, run_id).status = "queued"
    assert start_run(store, run_id, "h", 1) is True
    assert start_run(store, run_id, "h2", 2) is False
    outcome = Outcome(runs.RunStatus.OK, summary="done")
    assert finish_run(store, run_id, outcome) is not None
    assert finish_run(store, run_id, Outcome(runs.RunStatus.ERROR)) is None
    final = runs.get(store, run_id)
    assert final.status == "ok" and final.hostname == "h"
