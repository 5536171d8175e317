"""The task tracker: a dead-man's switch over a team of sub-agents.

A tracker expects named agents; each reports heartbeats (``running``, ``completed``, ``failed``). An
agent silent for longer than the tracker's ``timeout_s`` (since its last heartbeat, or since the tracker
was created) is declared ``dead``. When every agent is terminal the tracker ends ``completed`` (all
completed) or ``failed``, and its summary is delivered once to the tracker's destination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from clawsched.sched.errors import Conflict, NotFound, SpecError
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import TaskTracker, TaskTrackerAgent, utcnow

AGENT_STATES = ("pending", "running", "completed", "failed", "dead")
HEARTBEAT_STATES = ("running", "completed", "failed")
TERMINAL_AGENT = frozenset({"completed", "failed", "dead"})
DEAD_MESSAGE = "timed out (dead-man switch)"


def create(store: Store, data: Mapping[str, Any], now: datetime | None = None) -> TaskTracker:
    """Accepts snake_case (``expected_agents``, ``timeout_s``) and camelCase (``expectedAgents``, ...)."""
    now = now or utcnow()
    get = lambda *names: next((data[n] for n in names if data.get(n) is not None), None)  # noqa: E731
    name, agents = get("name"), get("expected_agents", "expectedAgents")
    timeout = get("timeout_s", "timeoutS") or 1800
    if not isinstance(name, str) or not name.strip():
        raise SpecError("name is required", field="name")
    if not isinstance(agents, list) or not agents or not all(isinstance(a, str) and a for a in agents):
        raise SpecError("expected_agents must be a non-empty list of agent labels", field="expected_agents")
    if len(set(agents)) != len(agents):
        raise SpecError("expected_agents has duplicates", field="expected_agents")
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise SpecError(f"timeout_s must be a positive number of seconds, got {timeout!r}", field="timeout_s")
    with store.session() as s:
        tracker = TaskTracker(name=name, timeout_s=int(timeout), status="active", created_at=now,
                              delivery_channel=get("delivery_channel", "deliveryChannel"),
                              delivery_to=get("delivery_to", "deliveryTo"))
        s.add(tracker)
        s.flush()
        for label in agents:
            s.add(TaskTrackerAgent(tracker_id=tracker.id, label=label, status="pending"))
        return tracker


def heartbeat(store: Store, tracker_id: str, label: str, status: str, message: str | None = None,
              now: datetime | None = None) -> TaskTrackerAgent:
    if status not in HEARTBEAT_STATES:
        raise SpecError(f"status must be one of {', '.join(HEARTBEAT_STATES)}, got {status!r}", field="status")
    now = now or utcnow()
    with store.session() as s:
        agent = _open_agent(s, tracker_id, label)
        agent.status, agent.last_heartbeat = status, now
        if message is not None:
            agent.message = message
        if status in TERMINAL_AGENT:
            agent.finished_at = now
        return agent


def _open_agent(s: Any, tracker_id: str, label: str) -> TaskTrackerAgent:
    """LABEL's row on an active tracker, still able to report (not finished); else why not."""
    tracker = _load(s, tracker_id)
    agent = s.scalar(select(TaskTrackerAgent).where(TaskTrackerAgent.tracker_id == tracker_id,
                                                    TaskTrackerAgent.label == label))
    if agent is None:
        raise NotFound(f"tracker {tracker_id!r} does not expect agent {label!r}")
    if tracker.status != "active" or agent.status in TERMINAL_AGENT:
        raise Conflict(f"agent {label!r} of tracker {tracker_id!r} is already {agent.status} "
                       f"(tracker {tracker.status})")
    return agent


def register_session(store: Store, tracker_id: str, label: str, session_key: str,
                     now: datetime | None = None) -> TaskTrackerAgent:
    """Tie LABEL to its agent session: the key is stored, a pending agent counts as running from now, and
    the registration is its first heartbeat (openclaw-scheduler's ``tasks register-session``)."""
    if not session_key.strip():
        raise SpecError("session_key must not be empty", field="session_key")
    now = now or utcnow()
    with store.session() as s:
        agent = _open_agent(s, tracker_id, label)
        agent.session_key, agent.last_heartbeat = session_key, now
        if agent.status == "pending":
            agent.status = "running"
        return agent


def _load(s: Any, tracker_id: str) -> TaskTracker:
    tracker = s.get(TaskTracker, tracker_id)
    if tracker is None:
        raise NotFound(f"task tracker {tracker_id!r} not found; list them with `clawsched tasks list`")
    return tracker


@dataclass(frozen=True)
class Verdict:
    dead: list[str]
    status: str | None  # the tracker's final status, or None while it goes on
    summary: str | None


def evaluate(created_at: datetime, timeout_s: int, agents: Sequence[tuple[str, str, datetime | None, str | None]],
             now: datetime) -> Verdict:
    """The pure rule. ``agents`` are (label, status, last_heartbeat, message)."""
    limit = timedelta(seconds=timeout_s)
    dead = [label for label, status, beat, _ in agents
            if status not in TERMINAL_AGENT and now - (beat or created_at) > limit]
    final = {label: ("dead" if label in dead else status) for label, status, _, _ in agents}
    if not all(s in TERMINAL_AGENT for s in final.values()):
        return Verdict(dead, None, None)
    lines = []
    for label, _, _, message in agents:
        state = final[label]
        tag = {"completed": "[ok]", "failed": "[FAILED]", "dead": "[DEAD]"}[state]
        detail = DEAD_MESSAGE if state == "dead" else (message or state)
        lines.append(f"{tag} {label}: {detail}")
    status = "completed" if all(s == "completed" for s in final.values()) else "failed"
    return Verdict(dead, status, "\n".join(lines))


def check(store: Store, now: datetime | None = None) -> list[str]:
    """Apply the rule to every active tracker; returns the ids of trackers that ended now."""
    now = now or utcnow()
    ended = []
    with store.session() as s:
        for tracker in s.scalars(select(TaskTracker).where(TaskTracker.status == "active")):
            rows = list(s.scalars(select(TaskTrackerAgent).where(TaskTrackerAgent.tracker_id == tracker.id)
                                  .order_by(TaskTrackerAgent.id)))
            verdict = evaluate(tracker.created_at, tracker.timeout_s,
                               [(a.label, a.status, a.last_heartbeat, a.message) for a in rows], now)
            for agent in rows:
                if agent.label in verdict.dead:
                    agent.status, agent.finished_at, agent.message = "dead", now, DEAD_MESSAGE
            if verdict.status:
                tracker.status, tracker.completed_at = verdict.status, now
                tracker.summary = verdict.summary
                ended.append(tracker.id)
    return ended


def undelivered(store: Store) -> list[TaskTracker]:
    with store.read() as s:
        return list(s.scalars(select(TaskTracker).where(TaskTracker.status != "active",
                                                        TaskTracker.summary_delivered_at.is_(None),
                                                        TaskTracker.delivery_to.is_not(None))))


def claim_delivery(store: Store, tracker_id: str, now: datetime | None = None) -> bool:
    """At most one process sends a tracker's summary: the guarded UPDATE decides who."""
    with store.session() as s:
        result = s.execute(update(TaskTracker).where(TaskTracker.id == tracker_id,
                                                     TaskTracker.summary_delivered_at.is_(None))
                           .values(summary_delivered_at=now or utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release_delivery(store: Store, tracker_id: str) -> None:
    with store.session() as s:
        s.execute(update(TaskTracker).where(TaskTracker.id == tracker_id).values(summary_delivered_at=None))


def summary_text(tracker: TaskTracker) -> str:
    mark = "[ok]" if tracker.status == "completed" else "[FAILED]"
    return f'{mark} Task group "{tracker.name}" {tracker.status}\n\n{tracker.summary or ""}'


def list_active(store: Store) -> list[TaskTracker]:
    with store.read() as s:
        return list(s.scalars(select(TaskTracker).where(TaskTracker.status == "active")
                              .order_by(TaskTracker.created_at)))


def history(store: Store, limit: int = 20) -> list[TaskTracker]:
    with store.read() as s:
        return list(s.scalars(select(TaskTracker).where(TaskTracker.status != "active")
                              .order_by(TaskTracker.completed_at.desc()).limit(limit)))


def status(store: Store, tracker_id: str) -> tuple[TaskTracker, list[TaskTrackerAgent]]:
    with store.read() as s:
        tracker = _load(s, tracker_id)
        rows = list(s.scalars(select(TaskTrackerAgent).where(TaskTrackerAgent.tracker_id == tracker_id)
                              .order_by(TaskTrackerAgent.id)))
        return tracker, rows


def as_dict(tracker: TaskTracker, agents: Sequence[TaskTrackerAgent] = ()) -> dict[str, Any]:
    out = {c.key: getattr(tracker, c.key) for c in TaskTracker.__table__.columns}
    if agents:
        out["agents"] = [{c.key: getattr(a, c.key) for c in TaskTrackerAgent.__table__.columns if c.key != "id"}
                         for a in agents]
    return out
