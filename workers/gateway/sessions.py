"""Session keys: which conversation an agent turn continues, in the gateway's namespace rules.

``x-openclaw-session-key`` is a bare key (``clawsched:<job>:<run>``): the gateway itself scopes it to
``agent:<agentId>:<key>``, and it rejects the reserved ``cron:``/``subagent:``/``acp:`` namespaces, so the
check is made here first, where the error can name the field a user can fix.
"""

from __future__ import annotations

from clawsched.sched.errors import SpecError

RESERVED_SESSION_PREFIXES = ("cron:", "subagent:", "acp:")


def new_session_key(job_id: str, run_id: str) -> str:
    """A fresh key per run, so an isolated run starts with no history and is findable by its ids.

    The gateway scopes it to ``agent:<agentId>:clawsched:<job>:<run>``; ``clawsched:`` is not reserved.
    """
    return check_session_key(f"clawsched:{job_id}:{run_id}")


def stable_session_key(session_id: str) -> str:
    """The key of a ``session:<id>`` target: the same id every run, so the session keeps its history.

    It is passed through unchanged (the gateway scopes it to the agent), so ``main`` reaches the agent's
    main session and an id shared with OpenClaw's own tools reaches the same conversation.
    """
    key = session_id.removeprefix("session:").strip()
    if not key:
        raise SpecError("session target needs an id, as in 'session:<id>'", field="session_target")
    return check_session_key(key)


def check_session_key(key: str) -> str:
    """Refuse a reserved namespace before the gateway does, naming the field a user can fix."""
    scoped = _unscoped(key)
    if scoped.startswith(RESERVED_SESSION_PREFIXES):
        raise SpecError(
            f"session key {key!r} uses a namespace the OpenClaw gateway reserves "
            f"({', '.join(RESERVED_SESSION_PREFIXES)}); pick another id",
            field="session_target",
        )
    return key


def _unscoped(key: str) -> str:
    """``agent:<id>:rest`` -> ``rest``: the reserved check applies to what follows the agent scope."""
    parts = key.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "agent" else key
