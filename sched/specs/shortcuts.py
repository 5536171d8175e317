"""openclaw-scheduler's ``jobs add`` shortcuts as changes to a spec before it is parsed: ``--at`` and
``--in 15m`` make a one-shot job, ``--watchdog`` fills a watchdog job's defaults. Pure: the caller
passes ``now``; the result is validated like any other spec."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from clawsched.sched.errors import SpecError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_SCHEDULES = ("schedule_kind", "schedule_cron", "schedule_every_ms", "schedule_at", "schedule")


def parse_duration(text: str) -> timedelta:
    """``15m``, ``2h30m``, ``1d``, ``45s`` (w, d, h, m, s); anything else is refused naming the form."""
    compact = text.strip().lower()
    parts = _DURATION.findall(compact)
    if not parts or _DURATION.sub("", compact).strip():
        raise SpecError(f"--in: {text!r} is not a duration; use e.g. 15m, 2h, 1d or 1h30m", field="in")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise SpecError("--in: the duration must be more than 0", field="in")
    return timedelta(seconds=seconds)


def one_shot(spec: Mapping[str, Any], *, at: str | None, in_: str | None, now: datetime) -> dict[str, Any]:
    """The spec as a job that fires once, at ``at`` (ISO-8601) or ``in_`` from ``now``."""
    if at and in_:
        raise SpecError("give one of --at or --in, not both", field="at")
    out = {k: v for k, v in spec.items() if k not in _SCHEDULES}
    out["schedule_kind"] = "at"
    out["schedule_at"] = at if at else (now + parse_duration(in_ or "")).isoformat()
    return out


def watchdog(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A watchdog job's defaults (the peer's ``--watchdog``): its check command is the payload, shell target,
    no delivery of its own (alerts go to ``watchdog_alert_target``), removed once its target is done.
    clawsched also needs a time budget for any shell job: 60 s unless given."""
    defaults = {"job_type": "watchdog", "session_target": "shell", "delivery_mode": "none",
                "watchdog_self_destruct": True, "run_timeout_ms": 60_000}
    out = {**defaults, **spec}
    if "payload_message" not in out and out.get("watchdog_check_cmd"):
        out["payload_message"] = out["watchdog_check_cmd"]
    return out
