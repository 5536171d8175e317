"""OpenClaw's legacy cron jobs in the cron-tool JSON the spec parser reads, with every variant OpenClaw's own
migration (``openclaw doctor --fix``) accepts (``../shared/research/openclaw-gateway-contract.md`` section 5).

Pure. ``job`` takes one raw entry of ``jobs.json`` (and its index and sidecar state) and returns the job in
today's shape: ``jobId`` as ``id`` (or an id derived from the entry), a string or ``cron`` schedule as
``{kind: "cron", expr}``, ``atMs`` as ``at``, ``every`` anchored at ``createdAtMs``, a top-of-hour cron
staggered 5 minutes as OpenClaw staggers it, top-level ``message``/``text``/``command``/``model``... moved
into the payload, delivery hints (``deliver``, ``channel``/``provider``, ``to``, ``threadId``,
``bestEffortDeliver``) made a ``delivery``, a missing or unknown ``sessionTarget`` and ``wakeMode``
defaulted, ``isolation`` and ``notify`` dropped. ``run`` turns one line of ``runs/<jobId>.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

_HINTS = ("deliver", "channel", "provider", "to", "threadId", "bestEffortDeliver")
_PAYLOAD_MOVES = ("message", "text", "model", "thinking", "timeoutSeconds", "allowUnsafeExternalContent")
_DROPPED = ("isolation", "notify", "state", "status", "createdAtMs", "updatedAtMs", "jobId")
TOP_OF_HOUR_STAGGER_MS = 300_000
_RUN_STATUSES = ("ok", "error", "skipped", "timeout", "cancelled")


def job_id(raw: Mapping[str, Any], index: int) -> str:
    """The entry's id, ``jobId`` for old entries, or one derived from the entry as OpenClaw derives it."""
    given = raw.get("id") or raw.get("jobId")
    if given:
        return str(given)
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"cron-migrated-{index}-{digest}"


def job(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """One legacy entry as today's cron-tool job (see the module docstring)."""
    out = {k: v for k, v in raw.items() if k not in _DROPPED and k not in _HINTS and k != "command"}
    out["id"] = job_id(raw, index)
    out.setdefault("enabled", True)
    if out.get("wakeMode") not in ("now", "next-heartbeat"):
        out["wakeMode"] = "now"
    out["payload"] = _payload(raw)
    schedule = _schedule(raw.get("schedule"), raw)
    if schedule is not None:
        out["schedule"] = schedule
    if "delivery" not in out and (hints := _hints(raw)):
        out["delivery"] = hints
    elif isinstance(out.get("delivery"), Mapping) and out["delivery"].get("mode") == "deliver":
        out["delivery"] = {**out["delivery"], "mode": "announce"}
    kind = str(out["payload"].get("kind", "")).lower()
    if out.get("sessionTarget") not in ("main", "isolated", "current") and not str(
            out.get("sessionTarget", "")).startswith("session:"):
        out["sessionTarget"] = "main" if kind == "systemevent" else "isolated"
    if kind == "command":
        out["sessionTarget"] = "shell"
    if isinstance(schedule, Mapping) and schedule.get("kind") == "at":
        out.setdefault("deleteAfterRun", True)
    return out


def _payload(raw: Mapping[str, Any]) -> dict[str, Any]:
    payload = dict(raw.get("payload") or {}) if isinstance(raw.get("payload"), Mapping) else {}
    for key in _PAYLOAD_MOVES:
        if raw.get(key) is not None:
            payload.setdefault(key, raw[key])
    if raw.get("command") is not None:
        payload.setdefault("kind", "command")
        payload.setdefault("argv", raw["command"])
    for key in _HINTS:
        payload.pop(key, None)
    kind = str(payload.get("kind") or "").lower()
    if not kind:
        kind = "systemevent" if "text" in payload and "message" not in payload else "agentturn"
    payload["kind"] = {"agentturn": "agentTurn", "systemevent": "systemEvent"}.get(kind, payload.get("kind"))
    return payload


def _schedule(raw: Any, entry: Mapping[str, Any]) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"kind": "cron", "expr": raw}
    if not isinstance(raw, Mapping):
        return dict(raw) if isinstance(raw, dict) else None
    schedule = dict(raw)
    if "cron" in schedule and "expr" not in schedule:
        schedule["expr"] = schedule.pop("cron")
    if "atMs" in schedule and "at" not in schedule:
        schedule["at"] = _iso(schedule.pop("atMs"))
    kind = schedule.get("kind") or next((k for k, key in (("at", "at"), ("every", "everyMs"), ("cron", "expr"))
                                         if key in schedule), "cron")
    schedule["kind"] = kind
    if kind == "every" and "anchorMs" not in schedule and entry.get("createdAtMs") is not None:
        schedule["anchorMs"] = entry["createdAtMs"]
    if kind == "cron" and "staggerMs" not in schedule and _top_of_hour(schedule.get("expr")):
        schedule["staggerMs"] = TOP_OF_HOUR_STAGGER_MS
    return schedule


def _top_of_hour(expr: Any) -> bool:
    fields = str(expr or "").split()
    return len(fields) == 5 and fields[0] == "0" and "*" in fields[1]


def _hints(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    payload: Mapping[str, Any] = raw["payload"] if isinstance(raw.get("payload"), Mapping) else {}
    found = {k: raw.get(k, payload.get(k)) for k in _HINTS if raw.get(k, payload.get(k)) is not None}
    if not found:
        return None
    delivery = {"mode": "none" if found.get("deliver") is False else "announce",
                "channel": found.get("channel") or found.get("provider"), "to": found.get("to")}
    return {k: v for k, v in delivery.items() if v is not None}


def _iso(value: Any) -> Any:
    try:
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=float(value))).isoformat()
    except (TypeError, ValueError, OverflowError):
        return value


def instant_ms(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    except OverflowError:
        return None


def state(raw: Mapping[str, Any], sidecar: Mapping[str, Any] | None) -> dict[str, Any]:
    """The job's bookkeeping (last run, status, errors in a row), the sidecar's state winning."""
    inline: Mapping[str, Any] = raw["state"] if isinstance(raw.get("state"), Mapping) else {}
    merged = {**inline, **(sidecar or {})}
    out = {"last_run_at": instant_ms(merged.get("lastRunAtMs")),
           "last_status": merged.get("lastStatus") or merged.get("lastRunStatus"),
           "consecutive_errors": merged.get("consecutiveErrors"),
           "created_at": instant_ms(raw.get("createdAtMs")), "updated_at": instant_ms(raw.get("updatedAtMs"))}
    return {k: v for k, v in out.items() if v is not None}


def run(line: Mapping[str, Any], jid: str) -> dict[str, Any] | None:
    """One ``finished`` line of the job's run log as a run; other lines (and lines without a time) None."""
    if line.get("action") != "finished":
        return None
    started = instant_ms(line.get("runAtMs")) or instant_ms(line.get("ts"))
    if started is None:
        return None
    duration = line.get("durationMs") if isinstance(line.get("durationMs"), int) else None
    finished = started + timedelta(milliseconds=duration) if duration is not None else instant_ms(line.get("ts"))
    status = line.get("status") if line.get("status") in _RUN_STATUSES else "error"
    key = f"{jid}:{line.get('runAtMs')}:{line.get('ts')}"
    extra = {k: line[k] for k in ("model", "provider", "delivered", "deliveryStatus", "deliveryError", "nextRunAtMs")
             if line.get(k) is not None}
    return {"id": hashlib.sha256(key.encode()).hexdigest()[:32], "job_id": jid, "status": status,
            "trigger": "schedule", "created_at": started, "started_at": started, "finished_at": finished,
            "finalized_at": finished, "duration_ms": duration, "summary": line.get("summary"),
            "error_message": line.get("error"), "session_id": line.get("sessionId"),
            "session_key": line.get("sessionKey"), "usage": line.get("usage"),
            "trigger_context": {"openclaw_cron": extra} if extra else None}
