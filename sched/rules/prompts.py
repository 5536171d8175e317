"""Agent prompt assembly and reply sentinels: pure functions of plain values, no I/O.

A prompt is, in order: the header ``[scheduler:<job_id> <job name>]``, a reasoning-depth note, the
pending inbox messages, the trigger context of a chain parent, the prior-run context, the idempotency
block of an at-least-once job, then the payload message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NO_REPLY = "NO_REPLY"
IDEMPOTENT_SKIP = "IDEMPOTENT_SKIP"
HEARTBEAT_OK = "HEARTBEAT_OK"
NO_FLUSH = "NO_FLUSH"
TASK_FAILED = "TASK_FAILED"
#: Replies that mean "nothing to tell anyone": the run is ok and nothing is delivered.
SILENT_SENTINELS = (NO_REPLY, IDEMPOTENT_SKIP, HEARTBEAT_OK, NO_FLUSH)

MAX_PROMPT_MESSAGES = 5
MESSAGE_BODY_LIMIT = 500
CONTEXT_TEXT_LIMIT = 1000


@dataclass(frozen=True)
class InboxItem:
    from_agent: str
    kind: str
    subject: str | None
    body: str
    owner: str | None = None


@dataclass(frozen=True)
class PriorRun:
    started_at: datetime | None
    text: str


def header(job_id: str, name: str) -> str:
    return f"[scheduler:{job_id} {name}]"


def build(
    *,
    job_id: str,
    name: str,
    payload: str,
    messages: Sequence[InboxItem] = (),
    trigger_context: Mapping[str, Any] | None = None,
    prior: Sequence[PriorRun] = (),
    idempotency_key: str | None = None,
    thinking: str | None = None,
) -> str:
    parts = [header(job_id, name)]
    if thinking:
        parts.append(f"Prefer reasoning depth: {thinking}.")
    if messages:
        parts.append(_messages_block(messages))
    if trigger_context:
        parts.append(_trigger_block(trigger_context))
    if prior:
        parts.append(_prior_block(prior))
    if idempotency_key:
        parts.append(
            f"[IDEMPOTENCY KEY: {idempotency_key}]\nThis run may be a replay of one that already acted. If "
            f"you have already completed the work for this key, reply exactly {IDEMPOTENT_SKIP}."
        )
    parts.append("\n" + payload)
    return "\n".join(parts)


def _messages_block(messages: Sequence[InboxItem]) -> str:
    lines = ["--- Pending Messages ---"]
    for m in messages[:MAX_PROMPT_MESSAGES]:
        body = m.body
        if len(body) > MESSAGE_BODY_LIMIT:
            body = body[:MESSAGE_BODY_LIMIT] + "\n[... message truncated]"
        lines.append(f"From: {m.from_agent} | {m.kind} | {m.subject or '(no subject)'}")
        lines.append(f"[{m.kind}] (owner: {m.owner}) {body}" if m.owner else body)
        lines.append("---")
    return "\n".join(lines)


def _trigger_block(context: Mapping[str, Any]) -> str:
    lines = ["--- Trigger Context ---"]
    for key in ("parent_job", "parent_name", "parent_run", "parent_status", "summary", "error"):
        if context.get(key) not in (None, ""):
            lines.append(f"{key}: {context[key]}")
    rest = {k: v for k, v in context.items()
            if k not in ("parent_job", "parent_name", "parent_run", "parent_status", "summary", "error")}
    if rest:
        lines.append(json.dumps(rest, default=str, sort_keys=True))
    lines.append("--- End Trigger Context ---")
    return "\n".join(lines)


def _prior_block(prior: Sequence[PriorRun]) -> str:
    lines = ["--- Prior Run Context ---"]
    for p in prior:
        when = p.started_at.strftime("%Y-%m-%d %H:%M:%S") if p.started_at else "?"
        lines.append(f"[{when}] {p.text[:CONTEXT_TEXT_LIMIT]}")
    lines.append("--- End Prior Run Context ---")
    return "\n".join(lines)


def matches_sentinel(text: str | None, token: str) -> bool:
    """The trimmed reply starts with ``token`` followed by the end, whitespace or ``:``."""
    t = (text or "").strip()
    return t.startswith(token) and (len(t) == len(token) or t[len(token)] in " \t\r\n:")


def silent(text: str | None) -> bool:
    """True when the reply asks for no delivery (``NO_REPLY``, ``IDEMPOTENT_SKIP``, ...)."""
    return any(matches_sentinel(text, s) for s in SILENT_SENTINELS)


def merge_prior(recent: Iterable[PriorRun], relevant: Iterable[PriorRun], limit: int) -> list[PriorRun]:
    """Recent runs first, then the relevant earlier ones not already shown, at most ``2 * limit``."""
    out: list[PriorRun] = []
    seen: set[tuple[Any, str]] = set()
    for p in [*recent, *relevant]:
        key = (p.started_at, p.text)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out[: 2 * limit]
