"""``SQLScheduler``: Celery beat whose schedule is the ``jobs`` table.

It overrides only Celery's documented hooks. Each tick claims every due fire and due pending run in
SQL (batches, one guarded transaction each), sends them to the workers, then sleeps exactly until the
next due instant, or until a Redis wake-up says something changed. Maintenance entries from
``beat_schedule`` go through Celery's own heap as usual. Several beats may run at once: the claims in
SQL make each fire happen exactly once, so there is no leader to elect.

Run it as ``clawsched beat`` or ``celery -A clawsched.workers.app beat -S clawsched.beat.scheduler:SQLScheduler``.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta
from typing import Any

from celery.beat import Scheduler

from clawsched.beat import metrics
from clawsched.beat.publishing import send_runs
from clawsched.sched.coordination.presence import Announcement, Announcer
from clawsched.sched.coordination.wake import WakeListener
from clawsched.sched.runtime import Runtime
from clawsched.sched.settings import Settings
from clawsched.sched.store import claims
from clawsched.sched.store.models import utcnow

log = logging.getLogger(__name__)

ERROR_PAUSE_S = 1.0


class SQLScheduler(Scheduler):
    def __init__(self, app: Any, *args: Any, lazy: bool = False, **kwargs: Any) -> None:
        self.settings: Settings = getattr(app, "clawsched_settings", None) or Settings.from_env()
        self._runtime: Any = None
        self._wake: WakeListener | None = None
        self._announcer: Announcer | None = None
        self._metrics: metrics.Endpoint | None = None
        self._closed = False
        kwargs.setdefault("max_interval", self.settings.beat_max_interval_s)
        super().__init__(app, *args, lazy=lazy, **kwargs)

    def setup_schedule(self) -> None:
        super().setup_schedule()  # maintenance entries from beat_schedule
        self._runtime = Runtime(self.settings)
        self._wake = WakeListener(self._runtime.redis, self.settings)
        self._announcer = Announcer(self._runtime.redis, self.settings, Announcement.of(
            "beat", self.settings, now=utcnow(), queues=(self.settings.queue,))).start()
        self._metrics = metrics.Endpoint(self.settings).start()
        log.info("clawsched beat on %s, queue %r", self._runtime.store.url.split("@")[-1], self.settings.queue)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self._closed:
            # Celery's SIGTERM handler closes us, then raises SystemExit; that exception can be swallowed
            # by a Redis read it interrupts, so a closed scheduler ends the beat loop itself.
            raise SystemExit(0)
        maintenance_wait = super().tick(*args, **kwargs)
        if maintenance_wait == 0:
            return 0  # Celery sent one maintenance entry; come straight back
        try:
            started = time.perf_counter()
            sent = self.dispatch_due()
            metrics.loop_took(time.perf_counter() - started)
            if sent:
                return 0
            wait = self._seconds_until_next_due(maintenance_wait)
        except Exception:
            log.exception("beat could not reach the store or broker; retrying in %ss", ERROR_PAUSE_S)
            wait = ERROR_PAUSE_S
        if wait > 0 and self._wake is not None and not self._closed:
            self._wake.wait(wait)
        return 0

    def dispatch_due(self) -> int:
        """Claim and send everything due now; returns how many runs were sent."""
        sent, limit = 0, self.settings.beat_batch_size
        while True:
            now = utcnow()
            fires = claims.claim_due_fires(self._runtime.store, now, limit,
                                           observe=functools.partial(metrics.fires_claimed, now=now),
                                           missed=metrics.fires_missed, replay_interval=self._replay_interval)
            pending = claims.claim_due_runs(self._runtime.store, now, limit)
            metrics.dispatched(len(fires), len(pending))
            if fires or pending:
                self.send(fires + pending)
                sent += len(fires) + len(pending)
            if len(fires) < limit and len(pending) < limit:
                return sent

    def send(self, runs: list[claims.Claimed]) -> None:
        """Publish claimed runs; one method, so the burst benchmark can time each batch once it is on the broker."""
        send_runs(self.app, runs, producer=self.producer)

    @property
    def _replay_interval(self) -> timedelta:
        return timedelta(seconds=self.settings.catchup_interval_s)

    def _seconds_until_next_due(self, maintenance_wait: float) -> float:
        wait = min(maintenance_wait or self.max_interval, self.max_interval)
        next_due = claims.next_due_at(self._runtime.store)
        if next_due is not None:
            wait = min(wait, (next_due - utcnow()).total_seconds())
        return max(0.0, wait)

    def close(self) -> None:
        self._closed = True
        if self._announcer is not None:
            self._announcer.stop()
        if self._metrics is not None:
            self._metrics.stop()
        if self._wake is not None:
            self._wake.close()
        if self._runtime is not None:
            self._runtime.close()
        super().close()

    @property
    def info(self) -> str:
        return f"    . clawsched: SQL schedule, queue {self.settings.queue!r}"
