"""The activity-based timeout of an agent turn: ``payload_timeout_seconds``, as openclaw-scheduler has it.

A turn is aborted when its session shows no activity for twice ``payload_timeout_seconds``: the gateway
bumps a session's ``updatedAt`` as the turn makes progress (the turn starts, a tool runs, a message is
written), and ``sessions_list`` reports it. A model call that hangs shows none. The run's own budget
(``run_timeout_ms``) still bounds the whole turn; this catches the turn that stalled long before it.

The watch polls from its own thread, every quarter of the idle limit (at most once a minute, as the
peer). A poll that fails (the tool denied, the gateway busy) counts as activity: the watch cannot tell,
and aborting a healthy turn on a missing answer would be worse than waiting for the run's budget.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from clawsched.sched.errors import GatewayError

log = logging.getLogger(__name__)

IDLE_FACTOR = 2
POLL_MAX_S = 60.0
POLL_MIN_S = 0.5

ListSessions = Callable[[dict[str, Any]], dict[str, Any]]


def idle_limit_s(payload_timeout_seconds: int) -> float:
    return float(IDLE_FACTOR * payload_timeout_seconds)


def poll_every_s(limit_s: float) -> float:
    return max(POLL_MIN_S, min(POLL_MAX_S, limit_s / 4))


def updated_at(answer: dict[str, Any], session_key: str) -> Any:
    """The session's ``updatedAt`` in a ``sessions_list`` answer (whichever of its shapes), or None."""
    result = answer.get("result", answer)
    if isinstance(result, dict):
        details = result.get("details") if isinstance(result.get("details"), dict) else result
        sessions = details.get("sessions") if isinstance(details, dict) else None
    else:
        sessions = result
    for session in sessions if isinstance(sessions, list) else []:
        if isinstance(session, dict) and (session.get("key") or session.get("sessionKey")) == session_key:
            return session.get("updatedAt")
    return None


class IdleWatch:
    """Sets ``idle`` once the session ``session_key`` has shown no activity for ``limit_s``."""

    def __init__(self, list_sessions: ListSessions, session_key: str, limit_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.list_sessions, self.session_key, self.limit_s, self.clock = list_sessions, session_key, limit_s, clock
        self.idle = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="agent-idle-watch", daemon=True)
        self._warned = False

    def __enter__(self) -> IdleWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def describe(self) -> str:
        return f"session idle for {self.limit_s:g}s: aborted (activity-based timeout, payload_timeout_seconds x2)"

    def _loop(self) -> None:
        seen: Any = None
        progressed = self.clock()
        args = {"activeMinutes": max(10, math.ceil(self.limit_s / 60) + 1), "limit": 200, "messageLimit": 0}
        while not self._stop.wait(poll_every_s(self.limit_s)):
            try:
                now_seen = updated_at(self.list_sessions(args), self.session_key)
            except GatewayError as exc:
                if not self._warned:
                    log.warning("idle watch for %s: sessions_list failed (%s); counted as activity",
                                self.session_key, exc)
                    self._warned = True
                progressed = self.clock()
                continue
            if now_seen is not None and now_seen != seen:
                seen, progressed = now_seen, self.clock()
            if self.clock() - progressed >= self.limit_s:
                self.idle.set()
                return
