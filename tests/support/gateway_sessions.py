"""The stand-in gateway's session activity: what ``sessions_list`` reports as each session's ``updatedAt``.

The real gateway bumps ``updatedAt`` as a turn makes progress (it starts, a message is written) and not
while a model call hangs; clawsched's idle watch (``payload_timeout_seconds``) reads it.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class SessionActivity:
    def __init__(self) -> None:
        self.updated: dict[str, int] = {}  # session key -> its last activity, ms since the epoch
        self._lock = threading.Lock()

    def touch(self, session: str) -> None:
        with self._lock:
            self.updated[session] = int(time.time() * 1000)

    def listed(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ``sessions_list`` tool's result."""
        with self._lock:
            sessions = [{"key": key, "updatedAt": at} for key, at in self.updated.items()]
        return {"content": [], "details": {"count": len(sessions), "sessions": sessions}}
