"""Sub-agent dispatch: a labelled agent session started by ``clawsched enqueue`` and followed to its end.

A dispatch is a one-off isolated agent job (never scheduled by itself) plus one run queued at once, so
the turn goes through the workers like any other: durable, visible in ``runs``, retried by nobody
behind the user's back. The session key is app-owned and stable per dispatch (``--mode reuse`` keeps
the label's last key, so the session keeps its history). The dispatch ends when the agent signals
``dispatch done`` or when its turn finishes, whichever comes first; the upkeep watcher then delivers
the completion summary once to ``--deliver-to``, and the watchdog raises one alert when a running
session stays silent past ``watchdog_after_s`` (it disarms itself when the dispatch ends).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from clawsched.sched.errors import Conflict, NotFound, SpecError
from clawsched.sched.states import DeliveryMode, RunStatus, Trigger
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Dispatch, Run, utcnow

MODES = ("fresh", "reuse")
DELIVERY_MODES = (DeliveryMode.NONE.value, DeliveryMode.ANNOUNCE.value, DeliveryMode.ANNOUNCE_ALWAYS.value)
THINKING = ("off", "minimal", "low", "medium", "high", "xhigh")
SUMMARY_LIMIT = 1500


def session_key_for(label: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")[:48] or "session"
    return f"clawsched-dispatch:{slug}:{uuid.uuid4().hex[:12]}"


def enqueue(store: Store, *, label: str, message: str, mode: str = "fresh", thinking: str | None = None,
            model: str | None = None, deliver_to: str | None = None, channel: str | None = None,
            delivery_mode: str = "announce", timeout_s: int = 300, monitor: bool = True,
            watchdog_after_s: int = 3600, agent_id: str = "main", now: datetime | None = None) -> Dispatch:
    """Record the dispatch, create its job and queue its run; the caller wakes the beats."""
    from clawsched.sched import jobs, runs

    now = now or utcnow()
    _validate(label, message, mode, thinking, delivery_mode, timeout_s, watchdog_after_s)
    with store.read() as s:
        previous = s.get(Dispatch, label)
    if previous is not None and previous.status == "running":
        raise Conflict(f"dispatch {label!r} is still running; wait for it, or mark it with `dispatch done`")
    if mode == "reuse" and previous is None:
        raise NotFound(f"dispatch {label!r} has no session to reuse; start one with --mode fresh")
    key = previous.session_key if mode == "reuse" and previous else session_key_for(label)
    job = jobs.create(store, {
        "name": f"dispatch:{label}", "session_target": "isolated", "agent_id": agent_id, "enabled": False,
        "schedule_kind": "at", "schedule_at": now.isoformat(), "payload_message": message,
        "payload_model": model, "payload_thinking": thinking, "preferred_session_key": key,
        "run_timeout_ms": int(timeout_s) * 1000, "delivery_mode": "none", "origin": f"dispatch:{label}",
        "delivery_opt_out_reason": "dispatch watcher delivers the completion summary",
    }, now=now)
    run_id = runs.enqueue(store, job.id, trigger=Trigger.MANUAL, now=now)
    with store.session() as s:
        row = s.get(Dispatch, label)
        if row is None:
            row = Dispatch(label=label)
            s.add(row)
        values = dict(session_key=key, status="running", mode=mode, message=message, model=model, thinking=thinking,
                      deliver_to=deliver_to, channel=channel, delivery_mode=delivery_mode, timeout_s=int(timeout_s),
                      result=None, summary=None, job_id=job.id, run_id=run_id, monitor=monitor,
                      watchdog_after_s=int(watchdog_after_s), spawned_at=now, last_activity_at=now,
                      finished_at=None, alerted_at=None, delivered_at=None)
        for name, value in values.items():
            setattr(row, name, value)
        return row


def _validate(label: str, message: str, mode: str, thinking: str | None, delivery_mode: str, timeout_s: int,
              watchdog_after_s: int) -> None:
    if not label or not label.strip():
        raise SpecError("--label is required", field="label")
    if not message or not message.strip():
        raise SpecError("a prompt is required: --message, --message-file, --message-env or stdin", field="message")
    checks = ((mode in MODES, "mode", f"one of {', '.join(MODES)}"),
              (thinking is None or thinking in THINKING, "thinking", f"one of {', '.join(THINKING)}"),
              (delivery_mode in DELIVERY_MODES, "delivery_mode", f"one of {', '.join(DELIVERY_MODES)}"),
              (timeout_s > 0, "timeout", "a positive number of seconds"),
              (watchdog_after_s > 0, "watchdog_after", "a positive number of seconds"))
    for ok, field, expected in checks:
        if not ok:
            raise SpecError(f"{field} must be {expected}", field=field)


def get(store: Store, label: str) -> Dispatch:
    return store.fetch(Dispatch, label, f"dispatch {label!r} not found; list them with `clawsched dispatch list`")


def list_all(store: Store, status: str | None = None, limit: int = 100) -> list[Dispatch]:
    with store.read() as s:
        q = select(Dispatch).order_by(Dispatch.spawned_at.desc()).limit(limit)
        if status:
            q = q.where(Dispatch.status == status)
        return list(s.scalars(q))


def finish(store: Store, label: str, summary: str | None, *, status: str = "done", result: str | None = None,
           now: datetime | None = None) -> bool:
    """running -> done|error, once. False when it had already ended (a second ``done`` changes nothing)."""
    if status not in ("done", "error"):
        raise SpecError(f"status must be done or error, got {status!r}", field="status")
    now = now or utcnow()
    values: dict[str, Any] = {"status": status, "finished_at": now, "last_activity_at": now,
                              "summary": normalise_summary(summary)}
    if result is not None:
        values["result"] = result
    with store.session() as s:
        moved = s.execute(update(Dispatch).where(Dispatch.label == label, Dispatch.status == "running")
                          .values(**values)).rowcount  # type: ignore[attr-defined]
        if not moved and s.get(Dispatch, label) is None:
            raise NotFound(f"dispatch {label!r} not found")
        return bool(moved)


def normalise_summary(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


def touch(store: Store, label: str, now: datetime | None = None) -> None:
    with store.session() as s:
        s.execute(update(Dispatch).where(Dispatch.label == label).values(last_activity_at=now or utcnow()))


def for_run(store: Store, run: Run) -> Dispatch | None:
    with store.read() as s:
        return s.scalar(select(Dispatch).where(Dispatch.run_id == run.id))


def record_turn(store: Store, run: Run, now: datetime | None = None) -> bool:
    """The dispatch's turn finished: keep its reply; end the dispatch unless ``done`` already did."""
    now = now or utcnow()
    with store.session() as s:
        s.execute(update(Dispatch).where(Dispatch.run_id == run.id, Dispatch.result.is_(None))
                  .values(result=run.reply or run.summary, last_activity_at=now))
        label = s.scalar(select(Dispatch.label).where(Dispatch.run_id == run.id))
    if label is None:
        return False
    ok = run.status == RunStatus.OK.value
    return finish(store, label, run.reply or run.summary or run.error_message, status="done" if ok else "error",
                  now=now)


def silent(store: Store, now: datetime | None = None) -> list[Dispatch]:
    """Running, monitored dispatches silent past their threshold that have not raised an alert yet."""
    now = now or utcnow()
    with store.read() as s:
        rows = s.scalars(select(Dispatch).where(Dispatch.status == "running", Dispatch.monitor.is_(True),
                                                Dispatch.alerted_at.is_(None)))
        return [d for d in rows
                if now - (d.last_activity_at or d.spawned_at) > timedelta(seconds=d.watchdog_after_s)]


def stuck(store: Store, threshold_s: float, now: datetime | None = None) -> list[Dispatch]:
    now = now or utcnow()
    with store.read() as s:
        rows = s.scalars(select(Dispatch).where(Dispatch.status == "running"))
        return [d for d in rows if now - (d.last_activity_at or d.spawned_at) > timedelta(seconds=threshold_s)]


def claim(store: Store, label: str, column: str, now: datetime | None = None) -> bool:
    """Set ``alerted_at`` / ``delivered_at`` if still unset: one process wins the right to send."""
    col = getattr(Dispatch, column)
    with store.session() as s:
        return bool(s.execute(update(Dispatch).where(Dispatch.label == label, col.is_(None))
                              .values({column: now or utcnow()})).rowcount)  # type: ignore[attr-defined]


def release(store: Store, label: str, column: str) -> None:
    with store.session() as s:
        s.execute(update(Dispatch).where(Dispatch.label == label).values({column: None}))


def to_deliver(store: Store) -> list[Dispatch]:
    with store.read() as s:
        return list(s.scalars(select(Dispatch).where(
            Dispatch.status.in_(("done", "error")), Dispatch.delivered_at.is_(None),
            Dispatch.deliver_to.is_not(None), Dispatch.delivery_mode != DeliveryMode.NONE.value,
            or_(Dispatch.summary.is_not(None), Dispatch.delivery_mode == DeliveryMode.ANNOUNCE_ALWAYS.value))))


def as_dict(row: Dispatch) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in Dispatch.__table__.columns}
