"""The agents registry: who exists, what they are doing (idle, busy, offline) and when last seen.

Agent runs mark their agent ``busy`` while the turn is in flight and ``idle`` after; the upkeep pass
marks agents unseen for a long time ``offline``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from clawsched.sched.errors import SpecError
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Agent, utcnow

STATUSES = ("idle", "busy", "offline")


def register(store: Store, agent_id: str, name: str | None = None, **fields: Any) -> Agent:
    if not agent_id or not agent_id.strip():
        raise SpecError("agent id must not be empty", field="id")
    allowed = {"capabilities", "delivery_channel", "delivery_to", "brand_name"}
    unknown = set(fields) - allowed
    if unknown:
        raise SpecError(f"unknown agent fields {sorted(unknown)}; use {sorted(allowed)}", field=sorted(unknown)[0])
    with store.session() as s:
        agent = s.get(Agent, agent_id)
        if agent is None:
            agent = Agent(id=agent_id, status="idle", created_at=utcnow())
            s.add(agent)
        if name is not None:
            agent.name = name
        for key, value in fields.items():
            setattr(agent, key, value)
        agent.last_seen_at = utcnow()
        return agent


def get(store: Store, agent_id: str) -> Agent:
    return store.fetch(Agent, agent_id, f"agent {agent_id!r} not found; register it with "
                                        f"`clawsched agents register {agent_id}`")


def list_all(store: Store) -> list[Agent]:
    with store.read() as s:
        return list(s.scalars(select(Agent).order_by(Agent.id)))


def set_status(store: Store, agent_id: str, status: str, session_key: str | None = None,
               now: datetime | None = None) -> None:
    """Mark an agent busy/idle/offline (registering it on first sight) and touch ``last_seen_at``."""
    if status not in STATUSES:
        raise SpecError(f"agent status {status!r} is not one of {', '.join(STATUSES)}", field="status")
    now = now or utcnow()
    with store.session() as s:
        agent = s.get(Agent, agent_id)
        if agent is None:
            s.add(Agent(id=agent_id, status=status, session_key=session_key, last_seen_at=now, created_at=now))
            return
        agent.status = status
        agent.last_seen_at = now
        if session_key is not None:
            agent.session_key = session_key


def mark_offline(store: Store, unseen_for: timedelta, now: datetime | None = None) -> int:
    """Idle agents not seen for ``unseen_for`` become offline; returns how many."""
    cutoff = (now or utcnow()) - unseen_for
    with store.session() as s:
        result = s.execute(update(Agent).where(Agent.status == "idle", Agent.last_seen_at < cutoff)
                           .values(status="offline"))
        return int(result.rowcount)  # type: ignore[attr-defined]


def as_dict(agent: Agent) -> dict[str, Any]:
    return {c.key: getattr(agent, c.key) for c in Agent.__table__.columns}
