"""The idempotency ledger as an operator sees it: a job's recent keys, one key, releasing one by hand,
pruning the expired ones (``clawsched idem ...``, openclaw-scheduler's ``idem`` commands).

Keys are derived and claimed by the run path (``rules.idempotency``, ``store.starting``); this module
only reads and releases them. A released key can be claimed again, which is what lets a crashed
at-least-once run be replayed; releasing a key of a run that did deliver invites a duplicate, so the
CLI says which run claimed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from clawsched.sched.errors import NotFound
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import IdempotencyEntry, row_dict, utcnow

CLAIMED, RELEASED = "claimed", "released"


def for_job(store: Store, job_id: str, limit: int = 50) -> list[IdempotencyEntry]:
    """The job's keys, newest claim first."""
    with store.read() as s:
        q = (select(IdempotencyEntry).where(IdempotencyEntry.job_id == job_id)
             .order_by(IdempotencyEntry.claimed_at.desc(), IdempotencyEntry.key).limit(limit))
        return list(s.scalars(q))


def find(store: Store, key: str) -> IdempotencyEntry | None:
    with store.read() as s:
        return s.get(IdempotencyEntry, key)


def release(store: Store, key: str) -> bool:
    """Mark ``key`` released (True), or say it already was (False); a key never claimed is NotFound."""
    with store.session() as s:
        entry = s.get(IdempotencyEntry, key)
        if entry is None:
            raise NotFound(f"idempotency key {key!r} is not in the ledger; list a job's keys with "
                           "`clawsched idem status JOB_ID`")
        if entry.status == RELEASED:
            return False
        entry.status = RELEASED
        return True


def prune(store: Store, now: datetime | None = None) -> int:
    """Delete the entries whose ``expires_at`` has passed; returns how many went."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(delete(IdempotencyEntry).where(IdempotencyEntry.expires_at.is_not(None),
                                                          IdempotencyEntry.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


def as_dict(entry: IdempotencyEntry) -> dict[str, Any]:
    return row_dict(entry, IdempotencyEntry)
