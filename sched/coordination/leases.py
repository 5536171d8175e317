"""Leases in Redis: a key with an owner token and a TTL that its holder renews.

Used for resource pools and anything else that must be held by one process at a time across jobs.
(A job's own overlap_policy is enforced in SQL, by the statement that starts a run: ``runs.start``.)
Release and renewal are compare-and-delete / compare-and-expire scripts, so a holder whose lease expired
and was taken by someone else can never delete or extend the new holder's lease. A crashed holder's
lease simply expires.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Any, key: str, owner: str, ttl_s: float) -> None:
        self.redis = redis
        self.key = key
        self.owner = owner
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(self.redis.set(self.key, self.owner, nx=True, px=self.ttl_ms))
        return self.held

    def renew(self) -> bool:
        """Extend the lease; False means it was lost (expired and possibly taken by another holder)."""
        ok = bool(self.redis.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms))
        if not ok and self.held:
            log.warning("lease %s lost by %s", self.key, self.owner)
        self.held = ok
        return ok

    def release(self) -> bool:
        released = bool(self.redis.eval(_RELEASE, 1, self.key, self.owner))
        self.held = False
        return released

    def holder(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
