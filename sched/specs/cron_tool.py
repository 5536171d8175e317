"""The cron tool's arguments made into one job object, as OpenClaw's own tool does before it validates.

Models send a job nested (``{action: "add", job: {...}}``), wrapped in ``data``, or flattened beside
``action`` (flat-params recovery, openclaw/openclaw#11310); inside the job, schedule and payload fields may
sit at the top level (``{"cron": "0 9 * * *", "message": "..."}``). This module moves each such field to
where the cron-tool JSON puts it, and turns the few spellings OpenClaw accepts and the spec parser does not
(a relative ``at`` such as ``"20m"``, an interval as ``"30m"`` or a numeric string, a job without a name,
``sessionTarget: "current"`` with the caller's session key) into ones it does. Everything else is left to
``sched.specs``, which validates the result like any job and names each bad field.

Pure: every function takes plain values (and ``now``) and returns new ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

PAYLOAD_KEYS = ("message", "text", "model", "fallbacks", "toolsAllow", "thinking", "timeoutSeconds", "lightContext",
                "allowUnsafeExternalContent")
SCHEDULE_KINDS = ("at", "every", "cron")
PAYLOAD_KINDS = ("systemEvent", "agentTurn")
# Arguments of the cron tool that steer the call, never part of a job.
CONTROL_KEYS = frozenset({"action", "gatewayUrl", "gatewayToken", "timeoutMs", "contextMessages", "dryRun"})
_CREATE_SIGNALS = ("schedule", "at", "atMs", "every", "everyMs", "cron", "expr", "payload", "message", "text")
_AGENT_TURN_SIGNALS = ("message", "model", "thinking", "timeoutSeconds", "lightContext", "fallbacks", "toolsAllow",
                       "allowUnsafeExternalContent")
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
NAME_LIMIT = 60


def duration_ms(value: Any) -> int | None:
    """``"30m"``, ``"1h30m"``, ``"90s"``, ``"2500"`` or ``2500`` as milliseconds; None if it is none of them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip().lower().removeprefix("+")
    if text.isdigit():
        return int(text)
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        return None
    return int(sum(float(n) * _UNITS_MS[unit] for n, unit in parts))


def job_object(args: Mapping[str, Any], nested: str = "job") -> tuple[dict[str, Any], str | None]:
    """The job (or patch) the arguments carry, and the key it was nested under (None: recovered flat).

    A non-empty ``job`` (``patch`` for updates) or ``data`` object wins; otherwise every argument that is
    not a control key is taken as a job field, as the cron tool's flat-params recovery does.
    """
    for key in (nested, "data"):
        inner = args.get(key)
        if isinstance(inner, Mapping) and inner:
            return dict(inner), key
    flat = {k: v for k, v in args.items() if k not in CONTROL_KEYS and k not in (nested, "data")}
    return flat, None


def has_create_signal(job: Mapping[str, Any]) -> bool:
    """Whether a recovered object says enough (a schedule or a payload) to be meant as a job."""
    return any(job.get(k) is not None for k in _CREATE_SIGNALS) or any(
        k.startswith(("schedule_", "payload_")) for k in job)


def canonical(job: Mapping[str, Any], *, now: datetime, session_key: str | None = None,
              create: bool = True) -> dict[str, Any]:
    """The job in the cron-tool JSON's own places; ``create`` also fills in a missing name."""
    out = dict(job)
    _move_schedule(out, now)
    _move_payload(out)
    if out.get("sessionTarget") == "current" and session_key:
        out["sessionTarget"] = f"session:{session_key}"
    if create and not out.get("name") and isinstance(out.get("payload"), Mapping):
        text = str(out["payload"].get("message") or out["payload"].get("text") or "").strip()
        if text:
            out["name"] = short_name(text)
    return out


def short_name(text: str) -> str:
    """A job name from the start of its payload, as OpenClaw infers one for a job given without."""
    line = " ".join(text.split())
    return line if len(line) <= NAME_LIMIT else line[:NAME_LIMIT - 1].rstrip() + "…"


def _move_schedule(job: dict[str, Any], now: datetime) -> None:
    """Top-level schedule fields into ``schedule``, with OpenClaw's aliases spelled the parser's way."""
    raw = job.get("schedule")
    if raw is not None and not isinstance(raw, Mapping):
        return  # a legacy cron string, or a mistake the parser names
    schedule = dict(raw or {})
    moves = {"at": "at", "atMs": "atMs", "every": "everyMs", "everyMs": "everyMs", "cron": "expr", "expr": "expr",
             "anchorMs": "anchorMs", "tz": "tz", "stagger": "staggerMs", "staggerMs": "staggerMs"}
    for source, target in moves.items():
        if job.get(source) is not None:
            schedule.setdefault(target, job.pop(source))
    if job.get("kind") in SCHEDULE_KINDS:
        schedule.setdefault("kind", job.pop("kind"))
    if job.pop("exact", None) is True:
        schedule.setdefault("staggerMs", 0)
    _schedule_aliases(schedule, now)
    if schedule:
        job["schedule"] = schedule


def _schedule_aliases(schedule: dict[str, Any], now: datetime) -> None:
    for source, target in (("every", "everyMs"), ("cron", "expr"), ("stagger", "staggerMs")):
        if source in schedule and target not in schedule:
            schedule[target] = schedule.pop(source)
    if schedule.pop("exact", None) is True:
        schedule.setdefault("staggerMs", 0)
    for key in ("everyMs", "staggerMs"):
        if isinstance(schedule.get(key), str) and (ms := duration_ms(schedule[key])) is not None:
            schedule[key] = ms
    at = schedule.get("at")
    if isinstance(at, str) and (ms := duration_ms(at)) is not None and not at.strip().isdigit():
        try:
            schedule["at"] = (now + timedelta(milliseconds=ms)).isoformat()
        except OverflowError:
            pass  # past the year 9999: left as written, for the parser to refuse
    if "kind" not in schedule:
        inferred = next((kind for kind, key in (("at", "at"), ("at", "atMs"), ("every", "everyMs"), ("cron", "expr"))
                         if key in schedule), None)
        if inferred:
            schedule["kind"] = inferred


def _move_payload(job: dict[str, Any]) -> None:
    """Top-level payload fields into ``payload``, and its kind inferred from what it carries."""
    raw = job.get("payload")
    if raw is not None and not isinstance(raw, Mapping):
        return
    payload = dict(raw or {})
    for key in PAYLOAD_KEYS:
        if job.get(key) is not None:
            payload.setdefault(key, job.pop(key))
    if job.get("kind") in PAYLOAD_KINDS:
        payload.setdefault("kind", job.pop("kind"))
    if "kind" not in payload:
        if any(payload.get(k) not in (None, "") for k in _AGENT_TURN_SIGNALS):
            payload["kind"] = "agentTurn"
        elif payload.get("text"):
            payload["kind"] = "systemEvent"
    if payload:
        job["payload"] = payload


def as_job(data: Mapping[str, Any], *, now: datetime) -> Mapping[str, Any]:
    """A job given to ``jobs add`` as the cron tool's call (``{action: "add", job: {...}}``, its fields
    beside ``action``, with ``contextMessages``) or as a job of ``cron list --json`` (its ``status`` and
    ``state``), made into the job object in the cron-tool JSON's own places (``canonical``); a flat job
    comes back as it was.

    ``contextMessages`` asks OpenClaw's tool to append recent chat messages to the job's text; a job added
    here has no chat to read them from, so it is dropped (``docs/migration.md``).
    """
    from clawsched.sched.errors import SpecError

    wrapped = "action" in data or any(isinstance(data.get(k), Mapping) for k in ("job", "data"))
    if not wrapped:
        return canonical(data, now=now)
    action = data.get("action", "add")
    if action != "add":
        raise SpecError(f"action: {action!r} is not a job to add; `jobs add` takes the cron tool's 'add' "
                        "(use `jobs update`, `jobs delete`, `jobs run` for the others)", field="action")
    job, where = job_object(data, "job")
    if where is None and not has_create_signal(job):
        raise SpecError("job: is required: a job object with a schedule and a payload (or its fields beside "
                        "`action`)", field="job")
    return canonical(job, now=now)
