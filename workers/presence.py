"""A worker announces itself while it runs (``clawsched.sched.coordination.presence``): a worker bootstep
starts the announcement with the pool and withdraws it when the worker stops, and a thread in the main
process refreshes it every heartbeat interval. ``clawsched status``, ``/readyz`` and ``jobs run`` read it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, bootsteps

from clawsched.sched.coordination.connection import client
from clawsched.sched.coordination.presence import Announcement, Announcer
from clawsched.sched.settings import Settings
from clawsched.sched.store.tables import utcnow

log = logging.getLogger(__name__)


def announcement(worker: Any, settings: Settings) -> Announcement:
    """What a worker says about itself: its node name, queues, pool and concurrency."""
    try:
        queues = tuple(sorted(worker.app.amqp.queues.consume_from))
    except Exception:  # queues not selected yet: the worker consumes the installation's queue
        queues = (settings.queue,)
    pool = getattr(worker, "pool_cls", None)
    pool_name = getattr(pool, "__module__", str(pool or "")).rsplit(".", 1)[-1]
    return Announcement.of("worker", settings, now=utcnow(), name=str(worker.hostname), queues=queues,
                           pool=pool_name, concurrency=getattr(worker, "concurrency", None))


class Presence(bootsteps.StartStopStep):
    """Worker bootstep: announce this worker from the moment its pool is up until it stops."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.announcer: Announcer | None = None

    def start(self, parent: Any) -> None:
        settings: Settings = parent.app.clawsched_settings
        self.announcer = Announcer(client(settings.require_redis_url()), settings,
                                   announcement(parent, settings)).start()
        log.info("worker %s announced (every %ss)", parent.hostname, settings.heartbeat_interval_s)

    def stop(self, parent: Any) -> None:
        if self.announcer is not None:
            self.announcer.stop()
            self.announcer = None

    def terminate(self, parent: Any) -> None:
        self.stop(parent)


def install(app: Celery) -> None:
    app.steps["worker"].add(Presence)
