"""The misfire policies through a real ``clawsched beat`` process, stopped and started again.

The beat runs, is stopped (SIGTERM), and the store is left as an hour's outage leaves it: the job's next
fire an hour in the past (no beat claimed its slots). A new beat process then finds the backlog and, by
the job's ``catchup``, runs the newest fire and records the rest ``missed`` (latest), replays every fire
in order at the configured rate (all), or records every late fire ``missed`` (none), on both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from clawsched.sched import jobs
from clawsched.sched.coordination import presence
from clawsched.sched.store.models import Job, Run, utcnow
from tests.support.waiting import wait_for
from tests.support.worker_process import worker_env

FIVE = timedelta(minutes=5)


class BeatProcess:
    """``clawsched beat`` in its own process group, its output in ``log``."""

    def __init__(self, settings: Any, redis: Any, log: Path, **env: str) -> None:
        self.settings, self.redis = settings, redis
        self.log = log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "clawsched.cli", "beat"],
                                     env=worker_env(settings, **env), stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: self.proc.poll() is None and presence.live(redis, settings)["beat"], timeout=30,
                 what="the beat process to announce itself")

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.log.close()
        wait_for(lambda: not presence.live(self.redis, self.settings)["beat"], timeout=10,
                 what="the stopped beat to leave the fleet")


def floor5(instant: datetime) -> datetime:
    return instant.replace(minute=instant.minute - instant.minute % 5, second=0, microsecond=0)


def runs_of(store: Any, job_id: str) -> list[Run]:
    with store.read() as s:
        return list(s.scalars(select(Run).where(Run.job_id == job_id).order_by(Run.scheduled_for)))


@pytest.mark.slow
@pytest.mark.parametrize("catchup", ["latest", "all", "none"])
def test_a_beat_restarted_after_an_hour_follows_the_misfire_policy(store, settings, redis, tmp_path, catchup):
    job = jobs.create(store, {"name": f"five-{catchup}", "schedule_cron": "*/5 * * * *", "session_target": "shell",
                              "payload_message": "true", "run_timeout_ms": 60_000, "catchup": catchup})
    log = tmp_path / "beat.log"
    env = {"CLAWSCHED_CATCHUP_INTERVAL_S": "0.2", "CLAWSCHED_BEAT_MAX_INTERVAL_S": "0.5"}
    BeatProcess(settings, redis, log, **env).stop()  # it ran, and nothing was due
    assert runs_of(store, job.id) == []
    first = floor5(utcnow()) - timedelta(minutes=55)  # the hour's first unclaimed slot
    with store.session() as s:  # what the store holds after an hour with no beat: the slots are all due
        s.execute(update(Job).where(Job.id == job.id).values(next_run_at=first))

    beat = BeatProcess(settings, redis, log, **env)
    try:
        recorded = wait_for(lambda: (rs := runs_of(store, job.id)) and all(r.status != "pending" for r in rs)
                            and rs, timeout=30, what="the restarted beat to claim the backlog")
    finally:
        beat.stop()

    claimed_at = recorded[0].created_at  # the claim's own instant, on every row it wrote
    slots = [first + i * FIVE for i in range(13) if first + i * FIVE <= claimed_at]
    assert len(slots) in (12, 13) and [r.scheduled_for for r in recorded] == slots  # each slot once
    status = [(r.status, (r.skip_reason or "").split(":")[0] or None) for r in recorded]
    if catchup == "latest":
        assert status == [("missed", "coalesced")] * (len(slots) - 1) + [("queued", None)]
    elif catchup == "all":
        assert status == [("queued", None)] * len(slots)
        sent = [r.dispatched_at for r in recorded]
        # released in order, the i-th no sooner than i intervals after the claim: at most the rate, never a storm
        # (a beat that wakes late may release two at once, but never ahead of their turn)
        assert sent == sorted(sent)
        assert all(at >= claimed_at + i * timedelta(seconds=0.2) for i, at in enumerate(sent))
        assert sent[-1] - claimed_at >= timedelta(seconds=0.2 * (len(slots) - 1))
    else:
        on_time = claimed_at - slots[-1] <= timedelta(seconds=60)
        assert status == [("missed", "late")] * (len(slots) - on_time) + [("queued", None)] * on_time
    with store.read() as s:
        assert s.get(Job, job.id).next_run_at == slots[-1] + FIVE
