"""4. Burst: N jobs due at the same instant (a top-of-hour cron fan-out), for each N of ``Sizes.burst``
(10 000 and 100 000).

The N jobs are loaded not due, a real ``SQLScheduler`` beat (the class ``clawsched beat`` runs, here in a
thread of this process so every batch it sends can be timed) is started, then one UPDATE makes all N due at
instant T. Figures: T -> the last ``clawsched.run`` message published (every fire claimed in SQL and sent),
and T -> the last run started (``started_at``). "Published" is the instant ``SQLScheduler.send`` returned
for the batch holding that message, so its Redis pipeline has executed; timing it inside the publish path
(Celery's ``after_task_publish`` signal) would cost time per message and, since a listener to that signal
makes ``send_runs`` fall back to ``send_task``, would time a slower path than the one the beat takes.

Baselines in the same run: Celery's default ``celery.beat.Scheduler`` ticking over the same number of
interval entries, all due, publishing stubbed (pure scheduler cost; measured at up to 2 000 entries and
extrapolated as N^2 above that because it is one entry per tick plus an O(N) schedule comparison per
tick); and, for all-started, N / the bare-Celery-subprocess throughput (what the worker pool needs).
References from ``../shared/research/celery-anchors.md`` section 4.2: Celery's default scheduler 10 k due
-> 77 s (never catches up on a 60 s interval); redbeat about 2 000 entries/s (10 k in 4.7-5.0 s).

Targets (``targets``): up to 10 000 fires, all claimed+sent <= 5 s and all started <= 1.25x what the pool
needs (the first performance round's); from 100 000 fires, <= 10 s per 100 000 and <= 1.1x (issue 20's).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from .harness import Env, Figure, bulk_jobs, epoch, not_due, shell_spec, wait_until

CELERY_DEFAULT_MAX = 2000


def celery_default_scheduler(n: int) -> dict[str, float]:
    """Seconds for Celery's default Scheduler to send n simultaneously due entries (publish stubbed)."""
    from celery import Celery
    from celery.beat import Scheduler

    class Stubbed(Scheduler):
        sent = 0
        producer = None  # type: ignore[assignment]

        def apply_entry(self, entry: Any, producer: Any = None) -> None:
            if entry.name.startswith("e"):
                self.sent += 1

    measured = min(n, CELERY_DEFAULT_MAX)
    app = Celery("celery-default", broker="memory://", set_as_current=False)
    app.conf.beat_schedule = {f"e{i}": {"task": "noop", "schedule": 60.0} for i in range(measured)}
    sched = Stubbed(app, lazy=False)
    past = app.now() - timedelta(seconds=61)
    for entry in sched.schedule.values():
        entry.last_run_at = past
    t0 = time.perf_counter()
    while sched.sent < measured:
        sched.tick()
    elapsed = time.perf_counter() - t0
    return {"measured_n": measured, "measured_s": elapsed, "estimated_s": elapsed * (n / measured) ** 2}


class _InProcessBeat:
    def __init__(self, env: Env) -> None:
        from celery.beat import Service

        from bench.celeryapp import make_app
        from clawsched.beat.scheduler import SQLScheduler

        published: list[float] = []
        self.env = env
        self.published = published
        self.app = make_app(env.settings)

        class TimedScheduler(SQLScheduler):
            def send(self, runs: list[Any]) -> None:
                super().send(runs)
                done = time.time()  # after the batch's pipeline executed: every message is on the broker
                published.extend(done for _ in runs)

        self.service = Service(self.app, scheduler_cls=TimedScheduler, max_interval=env.settings.beat_max_interval_s)
        self.thread = threading.Thread(target=self.service.start, name="bench-beat", daemon=True)

    def start(self) -> None:
        from clawsched.sched.coordination.wake import channel

        self.thread.start()
        chan = channel(self.env.settings)
        wait_until(lambda: dict(self.env.redis.pubsub_numsub(chan)).get(chan.encode(), 0) >= 1, 60,
                   "the in-process beat")

    def stop(self) -> None:
        from clawsched.sched.coordination.wake import notify

        self.service.stop()
        notify(self.env.redis, self.env.settings, "stop")
        self.thread.join(timeout=30)


def targets(count: int) -> tuple[float, float]:
    """Seconds allowed for all claimed+sent, and all started as a multiple of what the pool needs."""
    if count <= 10_000:
        return 5.0, 1.25
    return 10.0 * max(1.0, count / 100_000), 1.1


def run(env: Env, counts: list[int], rates: dict[str, float]) -> list[Figure]:
    """``rates``: runs/s of clawsched and of bare Celery on this worker (from the throughput bench)."""
    return [f for count in counts for f in run_one(env, count, rates)]


def run_one(env: Env, count: int, rates: dict[str, float]) -> list[Figure]:
    env.clear()
    bulk_jobs(env.store, count, shell_spec(name="burst", schedule_every_ms=3_600_000), not_due())
    env.analyze()
    sent_s, all_started_s = _time_burst(env, count)
    return _figures(env, count, rates, sent_s, all_started_s)


def _time_burst(env: Env, count: int) -> tuple[float, float]:
    """Seconds from T to the last fire sent and to the last run started. The beat is already running when one
    UPDATE sets T, so its start-up is not part of the burst."""
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.models import Job, utcnow

    beat = _InProcessBeat(env)
    beat.start()
    try:
        due = utcnow() + timedelta(seconds=1)
        with env.store.session() as s:
            s.execute(update(Job).values(next_run_at=due))
        notify(env.redis, env.settings, "burst")
        t_due = epoch(due)
        wait_until(lambda: len(beat.published) >= count, 120 + count / 50, f"{count} fires sent", poll=0.1)
        sent_s = max(beat.published) - t_due
        all_started_s = _last_start(env, count) - t_due
    finally:
        beat.stop()
    return sent_s, all_started_s


def _last_start(env: Env, count: int) -> float:
    """Read from the database: ``started_at`` is written by the worker processes, which this process cannot
    hook as it hooks the beat."""
    from clawsched.sched.store.models import Run

    def started() -> bool:
        with env.store.read() as s:
            return bool(s.scalar(select(func.count()).where(Run.started_at.is_not(None))) >= count)

    wait_until(started, 120 + count / 5, f"{count} runs started", poll=0.5)
    with env.store.read() as s:
        return epoch(s.scalar(select(func.max(Run.started_at))))


def _figures(env: Env, count: int, rates: dict[str, float], sent_s: float, all_started_s: float) -> list[Figure]:
    """The Celery baseline is measured after the beat has stopped, so the two never share the CPU."""
    celery = celery_default_scheduler(count)
    pool_s = count / rates["celery"] if rates.get("celery") else None
    need_s = count / rates["clawsched"] if rates.get("clawsched") else None
    extra = {"celery_default": celery, "rates_per_s": rates, "pool_need_s": need_s,
             "references": {"celery_default_10k_s": 77.0, "redbeat_entries_per_s": 2000,
                            "source": "shared/research/celery-anchors.md 4.2 (publish stubbed)"}}
    estimated = "" if celery["measured_n"] == count else f" (measured at {celery['measured_n']:,}, x N^2)"
    sent_max, started_x = targets(count)
    return [
        Figure("burst", f"{count:,} due: all claimed+sent ({env.db})", sent_s, "s", celery["estimated_s"],
               f"Celery default Scheduler, publish stubbed{estimated}", f"<= {sent_max:g} s", sent_s <= sent_max,
               note=f"ref: redbeat ~{count / 2000:.1f} s at 2 000/s", extra=extra),
        Figure("burst", f"{count:,} due: all started ({env.db})", all_started_s, "s", pool_s,
               "N / bare-Celery-subprocess rate", f"<= {started_x:g}x N / clawsched rate",
               None if need_s is None else all_started_s <= started_x * need_s,
               note="" if need_s is None else f"pool needs {need_s:.1f} s at {rates['clawsched']:.0f} runs/s "
                                              "(throughput, mean of rounds)",
               extra=extra),
    ]
