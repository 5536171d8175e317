"""The worker side of the cancel channel: one subscriber thread per worker process.

Running runs register their cancel event here; a message naming one of them sets it at once, and the
executor kills the run's process group. The heartbeat remains the fallback (it sees the row no longer
``running`` within ``heartbeat_interval_s``), so a lost message only costs time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from clawsched.sched.coordination import cancels
from clawsched.sched.runtime import Runtime

log = logging.getLogger(__name__)


class CancelListener:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.events: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._loop, name="cancel-listener", daemon=True)
        self.thread.start()

    def watch(self, run_id: str, event: threading.Event) -> None:
        with self.lock:
            self.events[run_id] = event

    def forget(self, run_id: str) -> None:
        with self.lock:
            self.events.pop(run_id, None)

    def _loop(self) -> None:
        while True:
            pubsub: Any = None
            try:
                pubsub = self.rt.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(cancels.channel(self.rt.settings))
                self.ready.set()
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self._cancel(cancels.parse(message.get("data")))
            except Exception as exc:
                log.warning("cancel channel error (%s); reconnecting", exc)
                time.sleep(1.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass

    def _cancel(self, run_ids: list[str]) -> None:
        with self.lock:
            hits = [(r, self.events[r]) for r in run_ids if r in self.events]
        for run_id, event in hits:
            log.info("run %s cancelled through the cancel channel; stopping it", run_id)
            event.set()


_listeners: dict[int, CancelListener] = {}
_guard = threading.Lock()


def listener(rt: Runtime) -> CancelListener | None:
    """This process's listener for ``rt`` (started on first use, after any fork)."""
    key = id(rt)
    with _guard:
        found = _listeners.get(key)
        if found is None or found.pid != os.getpid():
            try:
                found = _listeners[key] = CancelListener(rt)
            except Exception:
                log.exception("cannot start the cancel listener; relying on heartbeats")
                return None
        return found
