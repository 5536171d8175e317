"""The JSON schema of a cron-tool job, as ``GET /v1/tools`` shows it to a model.

Spelled out (no nested unions), as OpenClaw's own tool does, so a model knows which fields to send; the
values are validated by ``sched.specs``. ``additionalProperties`` stays open because clawsched's flat
fields (``max_retries``, ``parent_id``, ``resource_pool``, ...; see ``clawsched schema jobs``) are accepted too.
"""

from __future__ import annotations

from typing import Any

SCHEDULE: dict[str, Any] = {
    "type": "object",
    "description": "When to run: {kind: 'cron', expr, tz?, staggerMs?} | {kind: 'every', everyMs, anchorMs?} | "
                   "{kind: 'at', at} (ISO-8601, UTC without an offset, or relative like '20m')",
    "properties": {
        "kind": {"type": "string", "enum": ["cron", "every", "at"]},
        "expr": {"type": "string", "description": "5 fields, 6 with seconds first, or @daily etc."},
        "tz": {"type": "string", "description": "IANA time zone of the cron expression (default UTC)"},
        "staggerMs": {"type": "integer", "minimum": 0, "description": "Deterministic spread; 0 = exact"},
        "everyMs": {"type": "integer", "minimum": 100, "description": "Interval in milliseconds"},
        "anchorMs": {"type": "integer", "description": "Epoch ms the interval counts from"},
        "at": {"type": "string", "description": "One-shot instant"},
    },
    "additionalProperties": False,
}

PAYLOAD: dict[str, Any] = {
    "type": "object",
    "description": "What to run: {kind: 'systemEvent', text} for the main session, {kind: 'agentTurn', "
                   "message, model?, thinking?, timeoutSeconds?} for isolated and session:<id> targets, or "
                   "{kind: 'command', argv, cwd?, env?, timeoutSeconds?} for a shell job",
    "properties": {
        "kind": {"type": "string", "enum": ["systemEvent", "agentTurn", "command"]},
        "text": {"type": "string"},
        "message": {"type": "string"},
        "model": {"type": "string"},
        "thinking": {"type": "string"},
        "timeoutSeconds": {"type": "integer", "minimum": 0, "description": "0 means no timeout"},
        "argv": {"type": "array", "items": {"type": "string"}},
        "cwd": {"type": "string"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": True,
}

DELIVERY: dict[str, Any] = {
    "type": "object",
    "description": "Where the finished run's summary goes: announce to a chat channel, or POST to a webhook URL",
    "properties": {
        "mode": {"type": "string", "enum": ["none", "announce", "webhook"]},
        "channel": {"type": "string"},
        "to": {"type": "string", "description": "Chat target, or the webhook URL"},
        "bestEffort": {"type": "boolean"},
    },
    "additionalProperties": True,
}

_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "description": "Job name (default: the start of the payload)"},
    "description": {"type": "string"},
    "schedule": SCHEDULE,
    "payload": PAYLOAD,
    "delivery": DELIVERY,
    "sessionTarget": {"type": "string", "description": "'main' (systemEvent), 'isolated' (agentTurn), "
                                                       "'session:<id>' (agentTurn), 'current' (with the "
                                                       "invocation's sessionKey), or 'shell'"},
    "wakeMode": {"type": "string", "enum": ["now", "next-heartbeat"]},
    "agentId": {"type": ["string", "null"]},
    "enabled": {"type": "boolean"},
    "deleteAfterRun": {"type": "boolean", "description": "Delete the job after its first successful run"},
    "sessionKey": {"type": ["string", "null"], "description": "Explicit session key for the agent turn"},
    "failureAlert": {"type": ["object", "boolean"], "description": "{after?, channel?, to?, cooldownMs?}, or "
                                                                  "false to disable alerts"},
}

CRON_JOB: dict[str, Any] = {
    "type": "object",
    "description": "An OpenClaw cron-tool job (schedule and payload required); clawsched's flat fields are "
                   "accepted too. The fields may also be given beside `action` instead of inside `job`.",
    "properties": _FIELDS,
    "additionalProperties": True,
}

CRON_PATCH: dict[str, Any] = {
    "type": "object",
    "description": "The fields to change, in the same shape as a job; the merged job is validated as a whole",
    "properties": _FIELDS,
    "additionalProperties": True,
}
