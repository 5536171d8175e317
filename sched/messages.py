"""The inter-agent message queue: priorities, threads, kinds, TTL, broadcast and receipts.

A direct message moves ``pending -> delivered -> read`` on its own row (``expired`` when its
``expires_at`` passes first). A broadcast (``to_agent = 'broadcast'``) reaches every agent, so its
per-agent progress lives in receipts: an agent has it delivered or read when a receipt says so, and the
row itself only ever becomes ``expired``. Every transition writes a receipt with its actor and instant.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from clawsched.sched.errors import ClawschedError, NotFound, SpecError
from clawsched.sched.rules.prompts import KIND_ORDER
from clawsched.sched.specs.fields import CONTROL_CHARS
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Message, MessageReceipt, utcnow

log = logging.getLogger(__name__)

BROADCAST = "broadcast"
SCHEDULER = "scheduler"
KINDS = ("text", "task", "result", "status", "system", "spawn", "decision", "constraint", "fact", "preference")
PRIORITIES = (0, 1, 2)
OPEN = ("pending", "delivered")


def send(store: Store, from_agent: str, to_agent: str, body: str, *, subject: str | None = None,
         kind: str = "text", priority: int = 0, reply_to: str | None = None,
         metadata: Mapping[str, Any] | None = None, owner: str | None = None, channel: str | None = None,
         expires_at: datetime | None = None, ttl_s: float | None = None, job_id: str | None = None,
         run_id: str | None = None, now: datetime | None = None) -> Message:
    now = now or utcnow()
    _validate(from_agent, to_agent, body, kind, priority)
    _validate_text(subject, body)
    if ttl_s is not None:
        if not 0 < ttl_s <= MAX_TTL_S:
            raise SpecError(f"ttl must be a number of seconds from 1 to {MAX_TTL_S:.0f} (10 years), got {ttl_s}",
                            field="ttl")
        expires_at = now + timedelta(seconds=ttl_s)
    with store.session() as s:
        if reply_to and s.get(Message, reply_to) is None:
            raise SpecError(f"reply_to: message {reply_to!r} does not exist", field="reply_to")
        msg = Message(from_agent=from_agent, to_agent=to_agent, body=body, subject=subject, kind=kind,
                      priority=priority, reply_to=reply_to, metadata_=dict(metadata) if metadata else None,
                      owner=owner, channel=channel, expires_at=expires_at, job_id=job_id, run_id=run_id,
                      status="pending", created_at=now)
        s.add(msg)
        return msg


MAX_AGENT_CHARS, MAX_SUBJECT_CHARS, MAX_BODY_CHARS = 128, 512, 100_000  # the columns' sizes
MAX_TTL_S = 10 * 365 * 86400.0


def _validate(from_agent: str, to_agent: str, body: str, kind: str, priority: int) -> None:
    if not from_agent or not to_agent:
        raise SpecError("a message needs a sender and a recipient", field="to_agent")
    for field, name in (("from_agent", from_agent), ("to_agent", to_agent)):
        if len(name) > MAX_AGENT_CHARS or CONTROL_CHARS.search(name):
            raise SpecError(f"{field}: an agent name is at most {MAX_AGENT_CHARS} characters, without control "
                            "characters", field=field)
    if kind not in KINDS:
        raise SpecError(f"kind {kind!r} is not one of {', '.join(KINDS)}", field="kind")
    if priority not in PRIORITIES:
        raise SpecError(f"priority must be 0 (normal), 1 (high) or 2 (urgent), got {priority!r}", field="priority")
    if not isinstance(body, str) or not body.strip():
        raise SpecError("message body must not be empty", field="body")


def _validate_text(subject: str | None, body: str) -> None:
    """Control characters would corrupt the terminals, logs and prompts a message is shown in."""
    for field, text, limit in (("subject", subject, MAX_SUBJECT_CHARS), ("body", body, MAX_BODY_CHARS)):
        if text is None:
            continue
        if len(text) > limit:
            raise SpecError(f"{field}: at most {limit} characters, got {len(text)}", field=field)
        if match := CONTROL_CHARS.search(text):
            raise SpecError(f"{field}: contains the control character {match.group()!r}; only tab and newlines "
                            "are allowed", field=field)


def get(store: Store, message_id: str) -> Message:
    with store.read() as s:
        return _load(s, message_id)


def _load(s: Session, message_id: str) -> Message:
    msg = s.get(Message, message_id)
    if msg is None:
        raise NotFound(f"message {message_id!r} not found")
    return msg


def _seen_by(agent: str, event: str) -> Any:
    return exists().where(MessageReceipt.message_id == Message.id, MessageReceipt.agent_id == agent,
                          MessageReceipt.event == event)


def _open_for(agent: str, *, delivered_too: bool) -> Any:
    """Messages still open for ``agent``: direct ones by status, broadcasts by the agent's receipts."""
    direct_states = OPEN if delivered_too else ("pending",)
    broadcast_seen = _seen_by(agent, "read") if delivered_too else or_(_seen_by(agent, "delivered"),
                                                                         _seen_by(agent, "read"))
    return or_(
        and_(Message.to_agent == agent, Message.status.in_(direct_states)),
        and_(Message.to_agent == BROADCAST, Message.status.in_(OPEN), Message.from_agent != agent,
             ~broadcast_seen),
    )


def _ordered(q: Any) -> Any:
    """By kind (``KIND_ORDER``: a constraint before a decision before a fact, a task, a preference, then
    the rest), then urgent first, then oldest first, as openclaw-scheduler orders its inbox. The order is
    in the query so a ``limit`` keeps the messages that matter most, not merely the oldest."""
    rank = case({kind: i for i, kind in enumerate(KIND_ORDER)}, value=Message.kind, else_=len(KIND_ORDER))
    return q.order_by(rank, Message.priority.desc(), Message.created_at, Message.id)


def inbox(store: Store, agent: str, limit: int = 50, *, include_read: bool = False) -> list[Message]:
    """The agent's messages in prompt order (kind, then urgent first, then oldest first); read ones only
    with ``include_read``."""
    with store.read() as s:
        if include_read:
            cond = or_(Message.to_agent == agent, Message.to_agent == BROADCAST)
        else:
            cond = _open_for(agent, delivered_too=True)
        return list(s.scalars(_ordered(select(Message).where(cond)).limit(limit)))


def unread(store: Store, agent: str, limit: int = 200) -> list[Message]:
    return inbox(store, agent, limit)


def outbox(store: Store, agent: str, limit: int = 50) -> list[Message]:
    with store.read() as s:
        q = select(Message).where(Message.from_agent == agent).order_by(Message.created_at.desc()).limit(limit)
        return list(s.scalars(q))


def recent(store: Store, limit: int = 50) -> list[Message]:
    """The latest messages between all agents, newest first: what the dashboard shows."""
    with store.read() as s:
        return list(s.scalars(select(Message).order_by(Message.created_at.desc(), Message.id).limit(limit)))


def thread(store: Store, message_id: str) -> list[Message]:
    """The whole conversation ``message_id`` belongs to, from its root, oldest first."""
    with store.read() as s:
        root = _load(s, message_id)
        seen = {root.id}
        while root.reply_to and root.reply_to not in seen:
            parent = s.get(Message, root.reply_to)
            if parent is None:
                break
            root = parent
            seen.add(root.id)
        found, frontier = [root], [root.id]
        while frontier:
            children = list(s.scalars(select(Message).where(Message.reply_to.in_(frontier))))
            children = [c for c in children if c.id not in {m.id for m in found}]
            found.extend(children)
            frontier = [c.id for c in children]
        return sorted(found, key=lambda m: (m.created_at, m.id))


def take_for_prompt(store: Store, agent: str, limit: int = 5, now: datetime | None = None) -> list[Message]:
    """Up to ``limit`` pending messages for ``agent`` in inbox order (constraints first, then urgent
    first), marked delivered in the same step."""
    now = now or utcnow()
    with store.session() as s:
        q = _ordered(select(Message).where(_open_for(agent, delivered_too=False),
                                           or_(Message.expires_at.is_(None), Message.expires_at > now)))
        taken = list(s.scalars(q.limit(limit)))
        for msg in taken:
            _deliver(s, msg, agent, "dispatcher", now)
        return taken


def _deliver(s: Session, msg: Message, agent: str, actor: str, now: datetime) -> None:
    if msg.to_agent != BROADCAST:
        s.execute(update(Message).where(Message.id == msg.id, Message.status == "pending")
                  .values(status="delivered", delivered_at=now))
    s.add(MessageReceipt(message_id=msg.id, agent_id=agent, event="delivered", actor=actor, created_at=now))


def read(store: Store, message_id: str, agent: str | None = None, *, actor: str | None = None,
         note: str | None = None, event: str = "read", now: datetime | None = None) -> Message:
    """Mark a message read by ``agent`` (its recipient by default); idempotent."""
    now = now or utcnow()
    with store.session() as s:
        msg = _load(s, message_id)
        reader = agent or (msg.to_agent if msg.to_agent != BROADCAST else actor or "unknown")
        if msg.to_agent != BROADCAST and msg.status in OPEN:
            msg.delivered_at = msg.delivered_at or now
            msg.status, msg.read_at = "read", now
        s.add(MessageReceipt(message_id=msg.id, agent_id=reader, event="read", actor=actor or reader, note=note,
                             created_at=now))
        if event != "read":
            s.add(MessageReceipt(message_id=msg.id, agent_id=reader, event=event, actor=actor or reader, note=note,
                                 created_at=now))
        return msg


def ack(store: Store, message_id: str, actor: str | None = None, note: str | None = None) -> Message:
    """Read, plus an ``acked`` receipt naming who acknowledged it and why."""
    return read(store, message_id, actor=actor, note=note, event="acked")


def readall(store: Store, agent: str, now: datetime | None = None) -> int:
    ids = [m.id for m in inbox(store, agent, limit=10_000)]
    for message_id in ids:
        read(store, message_id, agent, now=now)
    return len(ids)


def receipts(store: Store, message_id: str, limit: int = 100) -> list[MessageReceipt]:
    with store.read() as s:
        _load(s, message_id)
        q = (select(MessageReceipt).where(MessageReceipt.message_id == message_id)
             .order_by(MessageReceipt.created_at, MessageReceipt.id).limit(limit))
        return list(s.scalars(q))


def expire(store: Store, now: datetime | None = None) -> int:
    """Open messages whose ``expires_at`` has passed become ``expired`` (with a receipt)."""
    now = now or utcnow()
    with store.session() as s:
        ids = list(s.scalars(select(Message.id).where(Message.status.in_(OPEN), Message.expires_at.is_not(None),
                                                      Message.expires_at <= now)))
        if not ids:
            return 0
        s.execute(update(Message).where(Message.id.in_(ids), Message.status.in_(OPEN)).values(status="expired"))
        for message_id in ids:
            s.add(MessageReceipt(message_id=message_id, agent_id="*", event="expired", actor="scheduler",
                                 created_at=now))
        return len(ids)


def prune(store: Store, *, older_than_days: int = 7, now: datetime | None = None) -> int:
    """Expire what is due, then delete closed messages (read, acked, expired) older than the cutoff, with
    their receipts; open messages are never pruned (openclaw-scheduler pruned pending ones too)."""
    now = now or utcnow()
    expire(store, now)
    cutoff = now - timedelta(days=older_than_days)
    with store.session() as s:
        ids = list(s.scalars(select(Message.id).where(Message.status.not_in(OPEN), Message.created_at < cutoff)))
        if ids:
            s.execute(delete(MessageReceipt).where(MessageReceipt.message_id.in_(ids)))
            s.execute(delete(Message).where(Message.id.in_(ids)))
        return len(ids)


def process_spawns(store: Store, now: datetime | None = None) -> list[dict[str, Any]]:
    """Turn ``spawn`` messages addressed to the scheduler into jobs, after full validation.

    The body is a job spec (JSON, either shape); ``metadata.run`` (or the spec's ``run_now``) also
    queues a run at once. A bad spec is answered with a ``status`` message to the sender and closed.
    """
    from clawsched.sched import jobs, runs

    now = now or utcnow()
    with store.read() as s:
        pending = list(s.scalars(select(Message).where(Message.kind == "spawn", Message.to_agent == SCHEDULER,
                                                       Message.status == "pending").order_by(Message.created_at)))
    done = []
    for msg in pending:
        with store.session() as s:  # claim first: two upkeep passes never create the job twice
            claimed = s.execute(update(Message).where(Message.id == msg.id, Message.status == "pending")
                                .values(status="delivered", delivered_at=now)).rowcount  # type: ignore[attr-defined]
        if not claimed:
            continue
        done.append(_spawn_one(store, msg, jobs, runs, now))
    return done


def _spawn_one(store: Store, msg: Message, jobs: Any, runs: Any, now: datetime) -> dict[str, Any]:
    try:
        spec = json.loads(msg.body)
        if not isinstance(spec, dict):
            raise SpecError("a spawn message body must be a JSON job spec object", field="body")
        spec.setdefault("name", f"Spawned by {msg.from_agent}")
        spec.setdefault("origin", f"spawn:{msg.from_agent}")
        job = jobs.create(store, spec, now=now)
        run_id = None
        if (msg.metadata_ or {}).get("run") and not spec.get("run_now"):
            run_id = runs.enqueue(store, job.id, now=now)
        note = f"created job {job.id}" + (f", run {run_id}" if run_id else "")
        read(store, msg.id, SCHEDULER, actor=SCHEDULER, note=note, now=now)
        send(store, SCHEDULER, msg.from_agent, note, kind="status", reply_to=msg.id, job_id=job.id, run_id=run_id,
             now=now)
        return {"message_id": msg.id, "job_id": job.id, "run_id": run_id}
    except (ValueError, ClawschedError) as exc:
        log.warning("spawn message %s from %s refused: %s", msg.id, msg.from_agent, exc)
        with store.session() as s:
            s.execute(update(Message).where(Message.id == msg.id).values(status="failed"))
            s.add(MessageReceipt(message_id=msg.id, agent_id=SCHEDULER, event="failed", actor=SCHEDULER,
                                 note=str(exc)[:1000], created_at=now))
        send(store, SCHEDULER, msg.from_agent, f"spawn refused: {exc}", kind="status", reply_to=msg.id, now=now)
        return {"message_id": msg.id, "error": str(exc)}


def as_dict(msg: Message) -> dict[str, Any]:
    out = {c.key: getattr(msg, c.key) for c in Message.__mapper__.column_attrs}
    out["metadata"] = out.pop("metadata_", None)
    return out


def receipt_dict(r: MessageReceipt) -> dict[str, Any]:
    return {"event": r.event, "agent_id": r.agent_id, "actor": r.actor, "note": r.note, "at": r.created_at}
