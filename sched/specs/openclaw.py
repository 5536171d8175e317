"""OpenClaw's cron-tool JSON, translated into the flat column names of ``Job``.

OpenClaw nests the schedule, payload and delivery in objects with camelCase keys
(``schedule: {kind, expr, tz}``, ``payload: {kind, message}``, ``sessionTarget``); openclaw-scheduler and
clawsched use flat columns. Only the key names and OpenClaw's documented defaults change here; the values
are validated later, as the flat form's, so both shapes get the same messages.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from clawsched.sched.specs.fields import type_name
from clawsched.sched.specs.model import SCHEDULE_FIELDS
from clawsched.sched.specs.problems import Problems, unknown
from clawsched.sched.states import DeliveryMode

OPENCLAW_AGENT_BUDGET_MS = 3_600_000  # OpenClaw's own watchdog for agent turns without timeoutSeconds


_OC_TOP = {"deleteAfterRun": "delete_after_run", "agentId": "agent_id", "sessionKey": "preferred_session_key",
           "sessionTarget": "session_target", "wakeMode": "wake_mode", "jobId": "id"}
_OC_IGNORED = frozenset({"createdAtMs", "updatedAtMs", "state"})
_OC_PAYLOAD_IGNORED = frozenset({"fallbacks", "allowUnsafeExternalContent", "lightContext", "toolsAllow",
                                 "bestEffortDeliver", "noOutputTimeoutSeconds", "outputMaxBytes", "input"})
_OC_DELIVERY_IGNORED = frozenset({"bestEffort", "accountId", "threadId", "failureDestination",
                                  "completionDestination"})
OPENCLAW_FIELDS = (*_OC_TOP, *_OC_IGNORED, "schedule", "payload", "delivery", "failureAlert")


def _put(flat: dict[str, Any], probs: Problems, field: str, value: Any, source: str) -> None:
    """Set a flat field once, remembering the key the user wrote so messages name that key."""
    if field in flat:
        probs.add(field, f"given twice (as {field!r} and as {source!r}); keep one")
        return
    flat[field] = value
    probs.origin[field] = source


def _from_openclaw_schedule(raw: Any, flat: dict[str, Any], probs: Problems) -> None:
    if isinstance(raw, str):  # legacy jobs.json: a bare cron string
        _put(flat, probs, "schedule_cron", raw, "schedule")
        _put(flat, probs, "schedule_kind", "cron", "schedule")
        return
    if not isinstance(raw, Mapping):
        probs.add("schedule", f"expected an object like {{'kind': 'cron', 'expr': '0 9 * * *'}}, got "
                  f"{type_name(raw)}")
        probs.suppress(*SCHEDULE_FIELDS)
        return
    kind = raw.get("kind") or ("at" if {"at", "atMs"} & raw.keys() else
                               "every" if "everyMs" in raw else "cron")
    keys = {"cron": {"expr": "schedule_cron", "cron": "schedule_cron", "tz": "schedule_tz",
                     "staggerMs": "stagger_ms"},
            "at": {"at": "schedule_at", "atMs": "schedule_at", "tz": "schedule_tz"},
            "every": {"everyMs": "schedule_every_ms", "anchorMs": "schedule_anchor"}}.get(kind)
    if keys is None:
        probs.origin["schedule_kind"] = "schedule.kind"
        probs.add("schedule_kind", f"{kind!r} is not supported; use cron, at or every")
        probs.suppress(*SCHEDULE_FIELDS)
        return
    _put(flat, probs, "schedule_kind", kind, "schedule.kind")
    unknown(probs, "schedule.", [k for k in raw if k != "kind" and k not in keys], keys)
    for key, field in keys.items():
        if key in raw and raw[key] is not None:
            _put(flat, probs, field, raw[key], f"schedule.{key}")


def _from_openclaw_payload(raw: Any, flat: dict[str, Any], probs: Problems) -> None:
    if not isinstance(raw, Mapping):
        probs.add("payload", f"expected an object like {{'kind': 'agentTurn', 'message': '...'}}, got "
                  f"{type_name(raw)}")
        probs.suppress("payload_message")
        return
    kind = str(raw.get("kind") or ("systemEvent" if "text" in raw else "agentTurn")).lower()
    keys = {"systemevent": {"text": "payload_message"},
            "agentturn": {"message": "payload_message", "model": "payload_model",
                          "thinking": "payload_thinking", "timeoutSeconds": "payload_timeout_seconds"},
            "command": {"argv": "payload_message", "cwd": "cwd", "env": "env",
                        "timeoutSeconds": "run_timeout_ms"}}.get(kind)
    if keys is None:
        probs.origin["payload_kind"] = "payload.kind"
        unsupported = raw.get("kind")
        probs.add("payload_kind", f"{unsupported!r} is not supported; use systemEvent, agentTurn or command")
        probs.suppress("payload_message")
        return
    legacy = {"deliver", "channel", "provider", "to"}
    unknown(probs, "payload.", [k for k in raw if k != "kind" and k not in keys and k not in legacy
                                 and k not in _OC_PAYLOAD_IGNORED], keys)
    _put(flat, probs, "payload_kind", {"systemevent": "systemEvent", "agentturn": "agentTurn",
                                       "command": "shellCommand"}[kind], "payload.kind")
    for key, field in keys.items():
        if key in raw and raw[key] is not None:
            _put(flat, probs, field, _payload_value(kind, key, raw[key]), f"payload.{key}")
    if kind == "agentturn" and isinstance(raw.get("timeoutSeconds"), int) and raw["timeoutSeconds"] > 0:
        _put(flat, probs, "run_timeout_ms", raw["timeoutSeconds"] * 1000, "payload.timeoutSeconds")
    if legacy & raw.keys() and "delivery_mode" not in flat:
        _put(flat, probs, "delivery", {"mode": "none" if raw.get("deliver") is False else "announce",
                                       "channel": raw.get("channel") or raw.get("provider"),
                                       "to": raw.get("to")}, "payload.deliver")


def _payload_value(kind: str, key: str, value: Any) -> Any:
    """OpenClaw command payloads carry argv and seconds; the flat form carries a shell line and ms."""
    if kind == "command" and key == "argv" and isinstance(value, list):
        return shlex.join(str(v) for v in value)
    if kind == "command" and key == "timeoutSeconds" and isinstance(value, int | float):
        return int(value * 1000)
    if kind == "agentturn" and key == "timeoutSeconds" and value == 0:
        return None  # OpenClaw: 0 means no timeout
    return value


#: OpenClaw's ``announce`` delivers the final reply of every run, failures too (its cron delivered an
#: ``ok`` reply); that is clawsched's ``announce-always``. The flat, openclaw-scheduler form's
#: ``announce`` (post only when a run did not succeed) keeps its own meaning.
OPENCLAW_DELIVERY_MODES = {"announce": DeliveryMode.ANNOUNCE_ALWAYS.value,
                           "deliver": DeliveryMode.ANNOUNCE_ALWAYS.value}


def _from_openclaw_delivery(raw: Any, flat: dict[str, Any], probs: Problems) -> None:
    if not isinstance(raw, Mapping):
        probs.add("delivery", f"expected an object like {{'mode': 'announce'}}, got {type_name(raw)}")
        return
    keys = {"mode": "delivery_mode", "channel": "delivery_channel", "to": "delivery_to"}
    unknown(probs, "delivery.", [k for k in raw if k not in keys and k not in _OC_DELIVERY_IGNORED], keys)
    mode = raw.get("mode") or "announce"
    _put(flat, probs, "delivery_mode", OPENCLAW_DELIVERY_MODES.get(mode, mode), "delivery.mode")
    for key in ("channel", "to"):
        if raw.get(key) is not None:
            _put(flat, probs, keys[key], raw[key], f"delivery.{key}")


def from_openclaw(data: Mapping[str, Any], probs: Problems, *, defaults: bool) -> dict[str, Any]:
    """Translate OpenClaw's camelCase and nested keys into flat columns; flat keys pass through as is.

    ``defaults`` applies OpenClaw's defaults for what a whole job leaves out; a patch gets none.
    """
    flat = {k: v for k, v in data.items() if k not in _OC_TOP and k not in OPENCLAW_FIELDS}
    for key, field in _OC_TOP.items():
        if key in data and data[key] is not None:
            _put(flat, probs, field, data[key], key)
    if "failureAlert" in data:
        alert = data["failureAlert"]
        _put(flat, probs, "failure_alert", {"enabled": False} if alert is False else alert, "failureAlert")
    if "schedule" in data:
        _from_openclaw_schedule(data["schedule"], flat, probs)
    if data.get("delivery") is not None:
        _from_openclaw_delivery(data["delivery"], flat, probs)
    if "payload" in data:
        _from_openclaw_payload(data["payload"], flat, probs)
    if legacy := flat.pop("delivery", None):  # delivery hints inside an old payload
        _from_openclaw_delivery(legacy, flat, probs)
    if defaults and isinstance(data.get("payload"), Mapping):
        _openclaw_defaults(flat, probs)
    return flat


def _openclaw_defaults(flat: dict[str, Any], probs: Problems) -> None:
    """OpenClaw's documented defaults for what its JSON leaves out (session target, delivery, budget)."""
    kind = flat.get("payload_kind")
    if "session_target" not in flat:
        flat["session_target"] = {"systemEvent": "main", "shellCommand": "shell"}.get(str(kind), "isolated")
    if "delivery_mode" not in flat:  # OpenClaw announces an isolated turn's reply, and nothing else by default
        isolated_turn = kind == "agentTurn" and flat["session_target"] == "isolated"
        flat["delivery_mode"] = DeliveryMode.ANNOUNCE_ALWAYS.value if isolated_turn else DeliveryMode.NONE.value
    if kind == "agentTurn" and "run_timeout_ms" not in flat:
        flat["run_timeout_ms"] = OPENCLAW_AGENT_BUDGET_MS
    if kind == "shellCommand" and "run_timeout_ms" not in flat:
        flat["run_timeout_ms"] = 600_000  # OpenClaw's default budget for command payloads
