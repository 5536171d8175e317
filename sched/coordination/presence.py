"""Fleet liveness: every beat and worker process announces itself in Redis, and anyone can list who is alive.

An announcement is one key per process, ``<ns>:presence:<kind>:<id>``, holding what the process is (kind,
host, pid, version, queues, started_at, its refresh interval) with a TTL of ``TTL_INTERVALS`` refresh
intervals; the process refreshes it every interval and deletes it when it stops cleanly. A set,
``<ns>:presence``, indexes the keys so readers never scan the keyspace. Liveness is judged on Redis's clock
alone (the key's remaining TTL says how long ago it was refreshed), so hosts with skewed clocks agree: a
process whose last refresh is more than ``LIVE_INTERVALS`` intervals old is not alive, even while its key
lingers.

This is transport state: losing every key loses nothing but the answer to "who is up" until
the next refresh.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from clawsched.sched import __version__
from clawsched.sched.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("beat", "worker")
TTL_INTERVALS = 3  # Redis drops an announcement three refresh intervals after its last refresh
LIVE_INTERVALS = 2  # ... and readers stop counting it as alive after two


@dataclass(frozen=True)
class Announcement:
    """What one process says about itself."""

    kind: str
    id: str
    host: str
    pid: int
    version: str
    queues: tuple[str, ...]
    started_at: str  # ISO-8601, UTC
    interval_s: float
    details: Mapping[str, Any] = field(default_factory=dict)  # e.g. a worker's pool and concurrency

    @classmethod
    def of(cls, kind: str, settings: Settings, *, now: datetime, name: str | None = None,
           queues: tuple[str, ...] = (), **details: Any) -> Announcement:
        """This process's announcement; ``name`` defaults to ``<kind>@<host>:<pid>:<random>``."""
        if kind not in KINDS:
            raise ValueError(f"presence kind {kind!r} is not one of {', '.join(KINDS)}")
        host, pid = socket.gethostname(), os.getpid()
        return cls(kind=kind, id=name or f"{kind}@{host}:{pid}:{uuid.uuid4().hex[:6]}", host=host, pid=pid,
                   version=__version__, queues=tuple(queues), started_at=now.isoformat().replace("+00:00", "Z"),
                   interval_s=settings.heartbeat_interval_s, details=dict(details))

    @property
    def member(self) -> str:
        return f"{self.kind}:{self.id}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["queues"] = list(self.queues)
        data["details"] = dict(self.details)
        return data


def index_key(settings: Settings) -> str:
    return settings.key("presence")


def member_key(settings: Settings, member: str) -> str:
    return settings.key("presence", member)


def ttl_ms(interval_s: float) -> int:
    return max(1, int(interval_s * TTL_INTERVALS * 1000))


def age_s(interval_s: float, remaining_ms: int) -> float:
    """Seconds since the last refresh of a key written with ``ttl_ms(interval_s)`` that has
    ``remaining_ms`` left (pure: Redis's PTTL is the only clock)."""
    return max(0.0, (ttl_ms(interval_s) - remaining_ms) / 1000.0)


def is_live(interval_s: float, remaining_ms: int) -> bool:
    if remaining_ms == -1:  # no TTL: someone wrote it by hand; trust it
        return True
    return remaining_ms >= 0 and age_s(interval_s, remaining_ms) <= LIVE_INTERVALS * interval_s


def announce(redis: Any, settings: Settings, announcement: Announcement) -> None:
    """Write (or refresh) the announcement; one round trip."""
    pipe = redis.pipeline(transaction=False)
    pipe.set(member_key(settings, announcement.member), json.dumps(announcement.as_dict()),
             px=ttl_ms(announcement.interval_s))
    pipe.sadd(index_key(settings), announcement.member)
    pipe.execute()


def withdraw(redis: Any, settings: Settings, announcement: Announcement) -> None:
    pipe = redis.pipeline(transaction=False)
    pipe.delete(member_key(settings, announcement.member))
    pipe.srem(index_key(settings), announcement.member)
    pipe.execute()


def live(redis: Any, settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Every live process by kind (``beat``, ``worker``), each with its fields and ``age_s``; two round
    trips. Index entries whose key has expired are dropped from the index on the way."""
    members = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in redis.smembers(index_key(settings)))
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    if not members:
        return found
    pipe = redis.pipeline(transaction=False)
    for member in members:
        pipe.get(member_key(settings, member))
        pipe.pttl(member_key(settings, member))
    replies = pipe.execute()
    gone = []
    for member, payload, remaining in zip(members, replies[::2], replies[1::2], strict=True):
        if payload is None:
            gone.append(member)
            continue
        data = json.loads(payload)
        interval = float(data.get("interval_s") or settings.heartbeat_interval_s)
        if is_live(interval, int(remaining)) and data.get("kind") in found:
            found[data["kind"]].append({**data, "age_s": round(age_s(interval, int(remaining)), 3)})
    if gone:
        redis.srem(index_key(settings), *gone)
    return found


class Announcer:
    """A thread that keeps one announcement fresh until ``stop`` withdraws it.

    Redis being down is survivable: each failed refresh is retried at the next interval, with one log
    line when the streak starts and one when it ends.
    """

    def __init__(self, redis: Any, settings: Settings, announcement: Announcement) -> None:
        self.redis, self.settings, self.announcement = redis, settings, announcement
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._loop, name=f"presence-{announcement.kind}", daemon=True)

    def start(self) -> Announcer:
        self.refresh()
        self._thread.start()
        return self

    def refresh(self) -> bool:
        try:
            announce(self.redis, self.settings, self.announcement)
        except Exception as exc:
            if not self._failing:
                log.warning("could not announce %s %s in Redis (%s); retrying every %ss", self.announcement.kind,
                            self.announcement.id, exc, self.announcement.interval_s)
            self._failing = True
            return False
        if self._failing:
            log.info("announcing %s %s in Redis again", self.announcement.kind, self.announcement.id)
        self._failing = False
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.announcement.interval_s):
            self.refresh()

    def stop(self, *, withdraw_now: bool = True) -> None:
        """Stop refreshing; withdraw the announcement unless told not to (then it ages out)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if not withdraw_now:
            return
        try:
            withdraw(self.redis, self.settings, self.announcement)
        except Exception as exc:
            log.warning("could not withdraw %s %s from Redis (%s); it expires on its own",
                        self.announcement.kind, self.announcement.id, exc)
