"""Agent prompt assembly and reply sentinels: pure functions of plain values, no I/O.

A prompt is, in order: the header ``[scheduler:<job_id> <job name>]``, the execution-boundary note of a
plan-only or read-only job, a reasoning-depth note, the pending inbox messages, the trigger context of a
chain parent, the prior-run context, the idempotency block of an at-least-once job, then the payload
message.
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

#: Typed messages an agent must weigh first come first, as openclaw-scheduler orders them: a constraint
#: binds what the agent may do, a decision settles a question, a fact informs, a task asks, a preference
#: only leans; every other kind (``text``, ``result``, ``status``, ...) comes after them.
KIND_ORDER = ("constraint", "decision", "fact", "task", "preference")

BOUNDARY_OPEN = "[SYSTEM NOTE -- execution boundary]"
BOUNDARY_CLOSE = "[END SYSTEM NOTE]"
PLAN_ONLY_NOTE = (
    "Execution intent: planning-only. Propose a plan: what you would do, in what order, and why. Do not "
    "execute any of it: run no commands or tools that act, change no files, systems or state, and send "
    "nothing on anyone's behalf."
)
READ_ONLY_NOTE = (
    "Read-only: you may inspect (read files, list, search, query), but modifying any file, system or state "
    "is forbidden."
)


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


def kind_rank(kind: str) -> int:
    """Where a message of ``kind`` sorts among the others: its place in ``KIND_ORDER``, else after them all."""
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def execution_note(intent: str, read_only: bool) -> str | None:
    """The boundary a plan-only or read-only job must keep, or None for an ordinary job.

    The job spec accepts ``execution_intent: plan`` and ``execution_read_only``; the agent only learns of
    them from its prompt, so without this note a plan-only job would be free to act. Both may apply.
    """
    lines = ([PLAN_ONLY_NOTE] if intent == "plan" else []) + ([READ_ONLY_NOTE] if read_only else [])
    if not lines:
        return None
    return "\n".join([BOUNDARY_OPEN, *lines, BOUNDARY_CLOSE])


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
    execution_intent: str = "execute",
    read_only: bool = False,
) -> str:
    parts = [header(job_id, name)]
    note = execution_note(execution_intent, read_only)
    if note:
        parts.append(note)
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
    """The inbox, constraints first (``KIND_ORDER``); the sort is stable, so within a kind the caller's
    order (``messages.take_for_prompt``: urgent first, then oldest) stands."""
    lines = ["--- Pending Messages ---"]
    for m in sorted(messages, key=lambda m: kind_rank(m.kind))[:MAX_PROMPT_MESSAGES]:
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
