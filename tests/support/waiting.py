"""Waiting on conditions with a deadline: the only way tests synchronise with real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Return the first truthy value of ``predicate()``; fail the test if none comes by the deadline."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; last value {last!r}")
        time.sleep(interval)
        last = predicate()
    return last
