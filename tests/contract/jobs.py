"""Job specs for the contract tests, in both dialects; each names the test's token."""

from __future__ import annotations

from typing import Any

YEARLY = "0 0 1 1 *"  # never due during a test: runs are started with `clawsched jobs run`


def flat(token: str, message: str, **fields: Any) -> dict[str, Any]:
    """openclaw-scheduler's flat form: an isolated agent job unless ``fields`` say otherwise (None drops one)."""
    spec = {"name": f"contract {token}", "schedule_cron": YEARLY, "session_target": "isolated",
            "payload_message": message, **fields}
    return {k: v for k, v in spec.items() if v is not None}


def to_telegram(mode: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"delivery_channel": "telegram", "delivery_to": "111"}
    if mode is not None:
        fields["delivery_mode"] = mode
    return fields


def cron_tool(token: str, message: str, delivery: dict[str, Any]) -> dict[str, Any]:
    """OpenClaw's cron-tool form of an isolated agent turn."""
    return {"name": f"contract {token}", "schedule": {"kind": "cron", "expr": YEARLY},
            "sessionTarget": "isolated", "payload": {"kind": "agentTurn", "message": message},
            "delivery": delivery}
