"""Session keys as the OpenClaw gateway reads them, so a job names the session it will really get.

The gateway scopes a bare key to its agent (``ops-daily`` -> ``agent:main:ops-daily``), folds it to
lower case (``session:Ops-Daily`` and ``session:ops-daily`` are one session), sends no key back in
its answer, and refuses the namespaces it keeps for itself. So a key with capitals is refused at the
spec, where the message can name the key that would be used, and the recorded key is computed here
the way the gateway computes it.
"""

from __future__ import annotations

RESERVED_PREFIXES = ("cron:", "subagent:", "acp:")


def problem(key: str) -> str | None:
    """Why the gateway would refuse ``key`` or read it as another key; None when it is fine."""
    if not key.strip():
        return "is empty; write it as 'session:<id>'"
    if key != key.strip() or any(c.isspace() for c in key):
        return f"{key!r} contains white space; the gateway keys sessions by the exact text, use '-' or '_'"
    if key != key.lower():
        return (f"{key!r} has capitals, and the gateway folds session keys to lower case: it would be the "
                f"session {key.lower()!r}; write it that way")
    if unscoped(key).startswith(RESERVED_PREFIXES):
        return (f"{key!r} uses a namespace the OpenClaw gateway reserves ({', '.join(RESERVED_PREFIXES)}); "
                "pick another id")
    return None


def unscoped(key: str) -> str:
    """``agent:<id>:rest`` -> ``rest``: the reserved check applies to what follows the agent scope."""
    parts = key.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "agent" else key


def as_gateway_keys_it(agent_id: str, key: str) -> str:
    """The key the gateway runs the turn under: scoped to the agent, folded to lower case."""
    key = key.strip().lower()
    return key if key.startswith("agent:") else f"agent:{agent_id.lower()}:{key}"
