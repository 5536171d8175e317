"""Session keys: which conversation an agent turn continues, in the gateway's namespace rules.

``x-openclaw-session-key`` is a bare key (``clawsched:<job>:<run>``): the gateway itself scopes it to
``agent:<agentId>:<key>`` and folds it to lower case (``sched.rules.session_keys``), so the keys sent
here are lower case already and the key recorded on a run is the one the gateway used.
"""

from __future__ import annotations

from clawsched.sched.errors import SpecError
from clawsched.sched.rules import session_keys


def new_session_key(job_id: str, run_id: str) -> str:
    """A fresh key per run, so an isolated run starts with no history and is findable by its ids.

    The gateway scopes it to ``agent:<agentId>:clawsched:<job>:<run>``; ``clawsched:`` is not reserved.
    Lower case, as the gateway would make it (a job id may have capitals).
    """
    return check_session_key(f"clawsched:{job_id}:{run_id}".lower())


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
    """Refuse a key the gateway would refuse or read as another one, naming the field a user can fix."""
    why = session_keys.problem(key)
    if why:
        raise SpecError(f"session key {why}", field="session_target")
    return key
