"""Liveness of running runs: one heartbeat thread per worker process, for every run it is running.

Each beat refreshes ``last_heartbeat`` of all this process's running runs in one guarded UPDATE (which
also keeps their resource-pool slots: a slot is a running run, ``store.pools``). A run the UPDATE no
longer finds ``running`` was cancelled or reaped elsewhere: its cancel event is set and its executor
stops. One thread per process instead of one per run keeps the per-run cost of a short job (a thread
start and join) off the hot path.

A beat the store fails transiently is tried again for ``retrying.BRIEF``, then missed (the next one
tries again). A run stays watched until its outcome is written, retries included (``recording``), so a
database blip between the end of a shell and the record of its outcome cannot let the reaper take the
run for a dead worker's and close it ``crashed``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from clawsched.sched.runtime import Runtime
from clawsched.sched.store import liveness, retrying
from clawsched.sched.store.retrying import StoreUnavailable
from clawsched.sched.store.tables import utcnow

log = logging.getLogger(__name__)


@dataclass
class Watched:
    cancelled: threading.Event
    recording: bool = False  # its outcome is being written: a beat that no longer finds it running is late


class HeartbeatService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.pid = os.getpid()
        self.runs: dict[str, Watched] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="heartbeats", daemon=True)
        self.thread.start()

    def watch(self, run_id: str, cancelled: threading.Event) -> None:
        with self.lock:
            self.runs[run_id] = Watched(cancelled)

    def recording(self, run_id: str) -> None:
        """The run's executor is done and its outcome is being written (and retried): keep it alive until
        then, and do not take the row's leaving ``running`` for a cancel."""
        with self.lock:
            found = self.runs.get(run_id)
            if found is not None:
                found.recording = True

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
            except StoreUnavailable as exc:  # each attempt was logged; the next beat tries again
                log.warning("heartbeat of %d runs missed: %s", len(current), exc)
            except Exception:  # a missed beat is survivable; the next one retries
                log.exception("heartbeat of %d runs failed", len(current))

    def beat(self, current: dict[str, Watched]) -> None:
        alive = retrying.call(lambda: liveness.heartbeat_many(self.rt.store, current, now=utcnow()),
                              bound=retrying.BRIEF, what=f"heartbeat of runs {', '.join(sorted(current))[:200]}")
        for run_id, watched in current.items():
            if run_id not in alive and watched.recording:
                continue  # its outcome was written a moment ago; it is forgotten next
            if run_id not in alive:
                log.info("run %s is no longer running (cancelled or reaped); stopping it", run_id)
                watched.cancelled.set()


_services: dict[int, HeartbeatService] = {}
_guard = threading.Lock()


def service(rt: Runtime) -> HeartbeatService:
    """This process's heartbeat service for ``rt`` (started on first use, after any fork)."""
    with _guard:
        found = _services.get(id(rt))
        if found is None or found.pid != os.getpid():
            found = _services[id(rt)] = HeartbeatService(rt)
        return found
