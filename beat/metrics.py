"""A beat's metrics: what each pass of its loop claimed and how long the pass took, how late its fires
were claimed, the fires it recorded missed (by reason), and the ``/metrics`` endpoint it serves on a
loopback port when ``CLAWSCHED_BEAT_METRICS_PORT`` is set: its own metrics plus the fleet's state read
from Redis when scraped (live workers and beats, queue depth). The names are in ``clawsched.sched.metrics``.

Every update is in memory; nothing here reads the store or Redis on the beat's loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from clawsched.sched import metrics as m
from clawsched.sched.settings import Settings

log = logging.getLogger(__name__)

def dispatched(fires: int, pending: int) -> None:
    if fires:
        m.beat_metrics().dispatched.labels("fire").inc(fires)
    if pending:
        m.beat_metrics().dispatched.labels("pending").inc(pending)


def loop_took(seconds: float) -> None:
    m.beat_metrics().loop.observe(max(0.0, seconds))


def fires_claimed(fires: Iterable[tuple[Any, datetime]], now: datetime) -> None:
    """Observe each claimed fire's lag (``(schedule source, due)`` pairs: a job row or spec and the
    instant it was first due)."""
    beat = m.beat_metrics()
    for _job, due in fires:
        lag = (now - due).total_seconds()
        beat.claim_lag.observe(max(0.0, lag))
        if lag > m.LATE_FIRE_S:
            beat.fires_late.inc()


def fires_missed(reasons: Iterable[str]) -> None:
    """Count the missed records a claim wrote, by reason (``states.MissedReason``)."""
    counter = m.beat_metrics().fires_missed
    for reason in reasons:
        counter.labels(reason).inc()


class Endpoint:
    """The beat's ``/metrics`` server, when a port is configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: Any = None

    def start(self) -> Endpoint:
        port = self.settings.beat_metrics_port
        if port:
            registry = m.exposition(m.BEAT, m.FleetCollector(self.settings))
            self.server = m.serve(registry, self.settings.metrics_host, port)
            log.info("beat metrics on http://%s:%s/metrics", self.settings.metrics_host, port)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
