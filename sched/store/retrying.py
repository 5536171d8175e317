"""Bounded retries of transient store failures, at the edge (STYLE point 7).

A transient failure is one the same statement can succeed after: the connection dropped (a database
restart, a terminated backend, a network blip — psycopg's ``OperationalError``/``InterfaceError``,
SQLAlchemy's disconnects) or SQLite's "database is locked"/"busy". Integrity, data and programming
errors are not: they would fail the same way again, so they are raised at once.

A retry is safe because every statement retried is a read or a guarded write: one that committed
before its connection dropped matches nothing the second time, and the verb then reads the row to tell
its own earlier write from someone else's (``finishing.finish_loaded``, ``starting.start``).

The first attempt costs nothing: the statement runs inside a plain ``try``, and tenacity is built only
after a transient failure. Every failed attempt logs one line naming what was being done (the run and
its job). Past its bound a verb raises ``StoreUnavailable``; what the caller does then is its own
policy (the run task sends its message back; an outcome is kept and written in the background).
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from clawsched.sched.errors import UnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")

_SQLITE_TRANSIENT = ("locked", "busy")


@dataclass(frozen=True)
class Bound:
    """How long a verb keeps trying after its first failure, and how it backs off between attempts."""

    total_s: float
    first_wait_s: float = 0.05
    max_wait_s: float = 2.0


START = Bound(total_s=5.0, max_wait_s=1.0)
"""Loading and starting a run: past this the run task sends its message back instead of acking it."""
OUTCOME = Bound(total_s=30.0, max_wait_s=2.0)
"""Recording an outcome: losing it would cost a second execution, so it gets the longest bound."""
BRIEF = Bound(total_s=1.0, max_wait_s=0.25)
"""A statement that is repeated anyway (a heartbeat): a short bound keeps its rhythm."""


class StoreUnavailable(UnavailableError):
    """The store kept failing transiently for a verb's whole bound; nothing of that verb is known to
    have been written."""


def is_transient(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from) is a failure the same statement may not meet again."""
    for _ in range(4):  # UnavailableError <- sqlalchemy OperationalError <- psycopg OperationalError
        if exc is None or isinstance(exc, StoreUnavailable):
            return False
        if _transient(exc):
            return True
        exc = exc.__cause__
    return False


def _transient(exc: BaseException | None) -> bool:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        return any(word in message for word in _SQLITE_TRANSIENT)
    psycopg = sys.modules.get("psycopg")  # not imported: the error cannot be one of its
    return psycopg is not None and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def call(fn: Callable[[], T], *, bound: Bound, what: str, again: Callable[[], T] | None = None) -> T:
    """``fn()``, tried again on transient failures for ``bound.total_s``; ``StoreUnavailable`` after.

    ``again`` (``fn`` when not given) makes the later attempts: a write whose connection dropped may have
    committed, and the attempt after it may have to look for its own row. ``what`` names the work for
    the log lines ("run R of job J: recording its outcome").
    """
    try:
        return fn()
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("%s: attempt 1 failed (%s: %s); retrying", what, type(exc).__name__, _first_line(exc))
    return _again(again or fn, bound, what)


def _again(fn: Callable[[], T], bound: Bound, what: str) -> T:
    began = time.monotonic()

    def log_attempt(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: attempt %d failed (%s: %s); retrying in %.2f s", what, state.attempt_number + 1,
                    type(exc).__name__, _first_line(exc), wait)

    retrying = Retrying(retry=retry_if_exception(is_transient), stop=stop_after_delay(bound.total_s),
                        wait=wait_exponential(multiplier=bound.first_wait_s, max=bound.max_wait_s),
                        before_sleep=log_attempt, reraise=True)
    try:
        result = retrying(fn)
    except Exception as exc:
        if not is_transient(exc):
            raise
        spent = time.monotonic() - began
        log.error("%s: the database kept failing for %.1f s; giving up (%s)", what, spent, _first_line(exc))
        raise StoreUnavailable(f"{what}: the database kept failing for {spent:.1f} s "
                               f"({type(exc).__name__}: {_first_line(exc)})") from exc
    log.warning("%s: succeeded after %.2f s of retries", what, time.monotonic() - began)
    return result


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0][:300] if exc is not None and str(exc).strip() else "-"
