"""Budgets for agent jobs: ``budget: {tokens_per_day, runs_per_hour}``; a run that would go past one is
recorded ``skipped`` with the reason, and the job's alert target hears of it once per window.

Windows are fixed UTC days and hours, so "the next window" is an instant anyone can compute. Tokens are
what the gateway reported per turn (``runs.usage``: ``total_tokens``, else input + output); runs are the
job's runs that started in the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

LIMITS = ("tokens_per_day", "runs_per_hour")


@dataclass(frozen=True)
class Windows:
    day: datetime
    hour: datetime

    @classmethod
    def at(cls, now: datetime) -> Windows:
        hour = now.replace(minute=0, second=0, microsecond=0)
        return cls(day=hour.replace(hour=0), hour=hour)


def tokens(usage: Mapping[str, Any] | None) -> int:
    """The tokens one turn used, as the gateway reported them (0 when it did not)."""
    if not usage:
        return 0
    total = usage.get("total_tokens", usage.get("totalTokens"))
    if isinstance(total, int | float):
        return int(total)
    parts = [usage.get(k) for k in ("input_tokens", "output_tokens", "inputTokens", "outputTokens")]
    return int(sum(p for p in parts if isinstance(p, int | float)))


@dataclass(frozen=True)
class Exceeded:
    limit: str  # which of ``LIMITS``
    reason: str
    window_start: datetime


def exceeded(budget: Mapping[str, Any], windows: Windows, used_today: Iterable[Mapping[str, Any] | None],
             runs_this_hour: int) -> Exceeded | None:
    """Which limit a new run would go past, if any, with the reason recorded on the skipped run."""
    per_day = budget.get("tokens_per_day")
    if per_day is not None:
        spent = sum(tokens(u) for u in used_today)
        if spent >= per_day:
            return Exceeded("tokens_per_day", f"budget: tokens_per_day {per_day} reached ({spent} used since "
                            f"{windows.day:%Y-%m-%dT%H:%MZ}); runs again from "
                            f"{windows.day + timedelta(days=1):%Y-%m-%dT%H:%MZ}", windows.day)
    per_hour = budget.get("runs_per_hour")
    if per_hour is not None and runs_this_hour >= per_hour:
        return Exceeded("runs_per_hour", f"budget: runs_per_hour {per_hour} reached ({runs_this_hour} runs since "
                        f"{windows.hour:%Y-%m-%dT%H:%MZ}); runs again from "
                        f"{windows.hour + timedelta(hours=1):%Y-%m-%dT%H:%MZ}", windows.hour)
    return None
