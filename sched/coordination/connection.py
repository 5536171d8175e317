"""Redis connections: one client per process per URL, with retries on dropped connections."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def client(url: str) -> Any:
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=5),
        retry_on_error=[ConnectionError, TimeoutError, redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
        socket_connect_timeout=5,
    )


@lru_cache(maxsize=8)
def probe(url: str) -> Any:
    """A client for health checks: no retries and short timeouts, so a Redis that is down is reported
    within a second instead of after the working client's retry ladder."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=1.0, socket_timeout=2.0)
