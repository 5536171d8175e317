"""What the OpenClaw gateway says on the wire, as the stand-in gateway reproduces it.

The tables and shapes here were observed against a real gateway (2026.9.6; see
``/work/shared/research/openclaw-gateway-contract.md``). They are written out again rather than imported
from ``clawsched.workers.gateway`` on purpose: sharing the client's tables would make the tests agree with
the client by construction.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

Response = tuple[int, Any, dict[str, str]]
#: Instead of a response: close the connection without answering, as a gateway killed mid-turn does.
DROP: Any = object()
ReplyFn = Callable[[dict[str, Any], dict[str, str]], str]
ToolHandler = Callable[[dict[str, Any]], Any]

RESERVED_SESSION_PREFIXES = ("cron:", "subagent:", "acp:")
#: The gateway's default HTTP deny list plus the automation tools it refuses over /tools/invoke.
DENIED_TOOLS = frozenset(
    {"exec", "spawn", "shell", "fs_write", "fs_delete", "fs_move", "apply_patch", "sessions_spawn",
     "sessions_send", "cron", "automations", "gateway", "nodes"}
)
#: What the chat platforms themselves refuse; the gateway reports it as an opaque tool_error.
PLATFORM_LIMITS = {"telegram": 4096, "discord": 2000, "slack": 40000, "whatsapp": 4096, "signal": 4096,
                   "imessage": 4096}
UNAUTHORIZED = {"error": {"message": "Unauthorized", "type": "unauthorized"}}
#: A chat-completions turn must end in a visible answer: after a silent one the gateway asks again, once,
#: with this instruction, and answers 500 when the model stays silent (src/agents/reply-completion.ts).
CONTINUATION = ("The previous attempt did not produce a user-visible answer. Continue from the current state "
                "and produce the visible answer now. Do not restart from scratch.")
INTERNAL_ERROR = {"error": {"message": "internal error", "type": "api_error"}}
_SILENT = re.compile(r"^\s*NO_REPLY(?:\s+NO_REPLY)*\s*$", re.IGNORECASE)
UPSTREAM_ERROR = {"error": {"message": "upstream provider error", "type": "api_error"}}


class ToolFailure(Exception):
    """A tool failed; like the real gateway the HTTP answer is opaque and the reason goes to a log."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stub received it, so tests can assert on exactly what was sent."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    at: float
    raw: bytes = b""

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None



def is_silent(text: str) -> bool:
    """The gateway's silent-reply test: ``NO_REPLY`` (any case, repeated), also inside edge punctuation.
    ``HEARTBEAT_OK`` is silent only in heartbeat runs, so a chat turn passes it through."""
    return bool(_SILENT.match(text) or _SILENT.match(text.strip().strip("\"'*_`.!,;:()[]")))


def session_of(agent: str, key: str) -> str:
    """Where a turn runs: the gateway folds the key to lower case and scopes it to the agent."""
    key = key.strip().lower()
    return key if key.startswith("agent:") else f"agent:{agent}:{key}"


def is_reserved(key: str) -> bool:
    """Reserved namespaces are refused bare and behind an ``agent:<id>:`` scope."""
    parts = key.split(":", 2)
    scoped = parts[2] if len(parts) == 3 and parts[0] == "agent" else key
    return key.startswith(RESERVED_SESSION_PREFIXES) or scoped.startswith(RESERVED_SESSION_PREFIXES)


def invalid(message: str) -> Response:
    """The gateway's 400 for a malformed chat request, in the OpenAI error shape."""
    return 400, {"error": {"message": message, "type": "invalid_request_error"}}, {}


def last_user_text(messages: Any) -> str:
    """The turn's prompt: the last user message, which the stub's default reply echoes."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def agent_for(model: Any, header_agent: str | None, agents: Collection[str] | None) -> tuple[str, str | None]:
    """The agent a ``model`` field targets, or the gateway's 400 message (``agents=None``: any exists)."""
    if model in ("openclaw", "openclaw/default", None):
        agent = header_agent or "main"
    elif isinstance(model, str) and model.startswith(("openclaw/", "openclaw:", "agent:")):
        agent = model.split("/", 1)[1] if model.startswith("openclaw/") else model.split(":", 1)[1]
    else:
        return "", "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`."
    if agents is not None and agent not in agents:
        return agent, f"Unknown agent '{agent}'."
    return agent, None


def completion(agent: str, content: str, usage: dict[str, int]) -> dict[str, Any]:
    """A non-streamed chat completion in the shape the gateway answers, naming the agent as its model."""
    return {
        "id": f"chatcmpl_{uuid.uuid4()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": f"openclaw:{agent}",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": dict(usage),
    }
