"""What the gateway answers when it succeeds: a chat completion, or the ``{"ok": true}`` of tools and hooks.

A chat-completions turn can never be silent through the real gateway: it owes the caller a visible
answer, so after ``NO_REPLY`` it asks the model again and answers 500 if the model stays silent.
``HEARTBEAT_OK`` passes through unchanged, so that is the sentinel a chat prompt asks for
(``SILENT_REPLY_NOTE``); ``sched.rules.prompts.silent`` then keeps it from being delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from clawsched.sched.errors import GatewayError
from clawsched.workers.gateway.errors import error_fields, redact

#: Appended to every chat-completions prompt: the one way to answer "nothing to report" that the gateway
#: passes through (``NO_REPLY`` makes it re-prompt, then fail the turn).
SILENT_REPLY_NOTE = ("If there is nothing to report, reply exactly HEARTBEAT_OK and nothing else: it is recorded "
                     "and not delivered. Do not reply NO_REPLY.")


@dataclass(frozen=True)
class ChatReply:
    """One finished agent turn. ``session_key`` is the session it ran in, as the gateway keys it: the
    2026.9 gateway echoes no key, so it is derived the gateway's way (``sched.rules.session_keys``)."""

    content: str
    usage: dict[str, Any] | None
    model: str | None
    raw: dict[str, Any] = field(repr=False)
    duration_ms: int
    session_key: str | None = None


def chat_reply(body: dict[str, Any], duration_ms: int, session_key: str | None) -> ChatReply:
    """The final reply of an OpenAI-style completion; a body without one is the gateway's fault."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise GatewayError(f"gateway chat reply has no choices[0].message: {json.dumps(body)[:300]}") from None
    usage = body.get("usage")
    return ChatReply(
        content=_text_of(message.get("content")),
        usage=usage if isinstance(usage, dict) else None,
        model=body.get("model"),
        raw=body,
        duration_ms=duration_ms,
        session_key=session_key,
    )


def _text_of(content: Any) -> str:
    """OpenAI content is a string, null, or a list of parts; only the text parts are the reply."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def json_or_empty(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or ``{}``: probes and refusals may answer plain text or nothing."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def ok_body(response: httpx.Response, what: str, secrets: Iterable[str | None]) -> dict[str, Any]:
    """Tools and hooks answer ``{"ok": true, ...}``; anything else is a refusal."""
    body = json_or_empty(response)
    if body.get("ok") is True:
        return body
    kind, message = error_fields(response)
    raise GatewayError(redact(f"gateway {what} did not succeed ({kind or 'ok=false'}): {message}", secrets))
