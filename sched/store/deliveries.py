"""The deliveries ledger: one row per (run, kind, target), claimed before anything is sent.

The row is moved ``pending -> sending`` by a guarded UPDATE before the send and settled after, so a
post-run step that runs twice finds it and posts nothing. A crash mid-send leaves it ``sending``, and
it is never re-sent (at most once is the safe side for a chat message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .engine import Store
from .models import Delivery, Run


def claim(store: Store, run_id: str | None, kind: str, target: str, *, now: datetime) -> Delivery | None:
    """The delivery row for (run, kind, target), moved to ``sending``; None when someone else has it.

    A delivery that belongs to no run (``run_id`` None) is not covered by the unique key (NULLs never
    collide), so its row is looked up before one is added, and the oldest such row is the one claimed.
    """
    same = (Delivery.run_id.is_(None) if run_id is None else Delivery.run_id == run_id,
            Delivery.kind == kind, Delivery.target == target)
    try:
        with store.session() as s:
            if run_id is not None or s.scalar(select(Delivery.id).where(*same).limit(1)) is None:
                s.add(Delivery(run_id=run_id, kind=kind, target=target, status="pending", created_at=now))
    except IntegrityError:
        pass  # a replayed step: the row exists
    with store.session() as s:
        row = s.scalar(select(Delivery).where(*same).order_by(Delivery.created_at, Delivery.id).limit(1))
        if row is None:
            return None
        moved = s.execute(update(Delivery).where(Delivery.id == row.id, Delivery.status == "pending")
                          .values(status="sending", attempts=Delivery.attempts + 1)).rowcount  # type: ignore[attr-defined]
        if not moved:
            return None
        s.refresh(row)
        return row


def settle(store: Store, delivery_id: str, *, now: datetime, error: str | None = None,
           attempts: int | None = None, unconfirmed: bool = False) -> None:
    """``delivered``; ``failed`` with the error; or ``unconfirmed`` with it, when the send may still arrive."""
    status = "unconfirmed" if unconfirmed else "failed" if error else "delivered"
    values: dict[str, Any] = {"status": status, "error": error}
    if not error:
        values["delivered_at"] = now
    if attempts is not None:
        values["attempts"] = attempts
    with store.session() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def recent_statuses(store: Store, job_id: str, until: datetime | None, limit: int = 200) -> list[str]:
    """Statuses of the job's finished runs up to ``until``, newest first (a failure streak's input)."""
    with store.read() as s:
        q = select(Run.status).where(Run.job_id == job_id, Run.finished_at.is_not(None))
        if until is not None:
            q = q.where(Run.finished_at <= until)
        return list(s.scalars(q.order_by(Run.finished_at.desc()).limit(limit)))


def last_delivered(store: Store, job_id: str, kind: str) -> datetime | None:
    """When a delivery of ``kind`` for one of the job's runs last went out."""
    with store.read() as s:
        return s.scalar(select(func.max(Delivery.delivered_at)).join(Run, Run.id == Delivery.run_id)
                        .where(Run.job_id == job_id, Delivery.kind == kind, Delivery.status == "delivered"))
