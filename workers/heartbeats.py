"""Liveness of running runs: one heartbeat thread per worker process, for every run it is running.

Each beat refreshes ``last_heartbeat`` of all this process's running runs in one guarded UPDATE and
renews their leases. A run the UPDATE no longer finds ``running`` was cancelled or reaped elsewhere:
its cancel event is set and its executor stops. One thread per process instead of one per run keeps
the per-run cost of a short job (a thread start and join) off the hot path.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from clawsched.sched.coordination.leases import Lease
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import liveness
from clawsched.sched.store.tables import utcnow

log = logging.getLogger(__name__)


@dataclass
class Watched:
    leases: list[Lease]
    cancelled: threading.Event


class HeartbeatService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.pid = os.getpid()
        self.runs: dict[str, Watched] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="heartbeats", daemon=True)
        self.thread.start()

    def watch(self, run_id: str, leases: list[Lease], cancelled: threading.Event) -> None:
        with self.lock:
            self.runs[run_id] = Watched(leases, cancelled)

    def forget(self, run_id: str) -> None:
        with self.lock:
            self.runs.pop(run_id, None)

    def _loop(self) -> None:
        interval = self.rt.settings.heartbeat_interval_s
        stop = threading.Event()
        while not stop.wait(interval):
            with self.lock:
                current = dict(self.runs)
            if not current:
                continue
            try:
                self.beat(current)
            except Exception:  # a missed beat is survivable; the next one retries
                log.exception("heartbeat of %d runs failed", len(current))

    def beat(self, current: dict[str, Watched]) -> None:
        alive = liveness.heartbeat_many(self.rt.store, current, now=utcnow())
        for run_id, watched in current.items():
            if run_id not in alive:
                log.info("run %s is no longer running (cancelled or reaped); stopping it", run_id)
                watched.cancelled.set()
                continue
            for lease in watched.leases:
                lease.renew()


_services: dict[int, HeartbeatService] = {}
_guard = threading.Lock()


def service(rt: Runtime) -> HeartbeatService:
    """This process's heartbeat service for ``rt`` (started on first use, after any fork)."""
    with _guard:
        found = _services.get(id(rt))
        if found is None or found.pid != os.getpid():
            found = _services[id(rt)] = HeartbeatService(rt)
        return found
