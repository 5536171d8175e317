"""Wake-ups: a change to any job or a new run wakes every beat at once through Redis pub/sub.

Beat sleeps until the next due instant; without this a job added for "now" would wait for the sleep
to end. A lost wake-up costs at most ``beat_max_interval_s``, never a fire.
"""

from __future__ import annotations

import logging
from typing import Any

from clawsched.sched.settings import Settings

log = logging.getLogger(__name__)


def channel(settings: Settings) -> str:
    return settings.key("wake")


def notify(redis: Any, settings: Settings, reason: str = "change") -> bool:
    """Tell every beat to look again now; False (and a log line) when Redis is unreachable."""
    try:
        redis.publish(channel(settings), reason)
        return True
    except Exception as exc:  # a wake-up is an optimisation: the beat's max interval is the fallback
        log.warning("could not wake the beat (%s); it will notice within %ss", exc, settings.beat_max_interval_s)
        return False


class WakeListener:
    """A subscription to the wake channel; ``wait`` returns early when someone calls ``notify``."""

    def __init__(self, redis: Any, settings: Settings) -> None:
        self._channel = channel(settings)
        self._closed = False
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(self._channel)

    def wait(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s``; True if woken. Drains queued wake-ups so one burst wakes once."""
        woken = False
        try:
            message = self._pubsub.get_message(timeout=max(0.0, timeout_s))
            while message is not None:
                woken = woken or message.get("type") == "message"
                message = self._pubsub.get_message(timeout=0)
        except Exception as exc:
            if not self._closed:
                log.warning("wake channel error (%s); resubscribing", exc)
                self._resubscribe()
        return woken

    def _resubscribe(self) -> None:
        try:
            self._pubsub.reset()
            self._pubsub.subscribe(self._channel)
        except Exception as exc:  # Redis is down: the caller's max interval still bounds every sleep
            log.warning("cannot resubscribe to the wake channel yet: %s", exc)

    def close(self) -> None:
        self._closed = True
        try:
            self._pubsub.close()
        except Exception:
            pass
