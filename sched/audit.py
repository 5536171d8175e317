"""The audit log: who changed a job, when, from where, and what changed (``job_audit``).

Every job service that changes a job (``jobs.create``, ``update``, ``set_enabled``, ``delete_job``,
``cancel``, ``pauses.pause``/``resume``) calls ``record`` with the session it writes in, so the entry and
the change commit together or not at all. Importers and ``apply`` pass their own ``Actor`` (source
``importer`` / ``apply``) to the same services; ``record`` is also theirs to call for a change they make
themselves. Secrets (``delivery_secret``, ``env`` values) are never written to the log, only that they
changed. Entries are pruned with the run retention (``CLAWSCHED_RUN_RETENTION_DAYS``).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select

from clawsched.sched.paging import Page
from clawsched.sched.paging import page as paging_page
from clawsched.sched.store.engine import Store
from clawsched.sched.store.listing import MASK
from clawsched.sched.store.models import JobAudit, row_dict, utcnow


class Action(StrEnum):
    ADD = "add"
    UPDATE = "update"
    ENABLE = "enable"
    DISABLE = "disable"
    PAUSE = "pause"
    RESUME = "resume"
    DELETE = "delete"


class Source(StrEnum):
    CLI = "cli"
    API = "api"
    AGENT = "agent"
    IMPORTER = "importer"
    APPLY = "apply"
    SCHEDULER = "scheduler"  # clawsched itself: a pause that ran out, a job deleted after its run
    INTERNAL = "internal"  # a producer inside clawsched (heartbeat rules, dispatches, cron.wake)


@dataclass(frozen=True)
class Actor:
    """Who made a change (an OS user, an API token's name, an agent, an importer) and through what."""

    name: str
    source: Source

    @classmethod
    def cli(cls) -> Actor:
        """The OS user running the command (``getpass``; ``$USER`` or the uid when it has no name)."""
        try:
            name = getpass.getuser()
        except Exception:  # no passwd entry for the uid (containers)
            name = os.environ.get("USER") or f"uid {os.getuid()}"
        return cls(name, Source.CLI)


INTERNAL = Actor("clawsched", Source.INTERNAL)
SCHEDULER = Actor("scheduler", Source.SCHEDULER)
IMPORTER = Actor("importer", Source.IMPORTER)  # ``clawsched import``
APPLY = Actor("apply", Source.APPLY)  # ``clawsched apply``
SECRET_FIELDS = frozenset({"delivery_secret"})
#: bookkeeping the services change along with the user's fields: never part of a diff
UNDIFFED = frozenset({"updated_at", "created_at", "next_run_at", "last_run_at", "last_status",
                      "consecutive_errors", "queued_count"})


def field_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for each field whose value changed, secrets masked (pure)."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        if key in UNDIFFED or before.get(key) == after.get(key):
            continue
        changes[key] = [_shown(key, before.get(key)), _shown(key, after.get(key))]
    return changes


def _shown(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in SECRET_FIELDS:
        return MASK
    if key == "env" and isinstance(value, dict):
        return dict.fromkeys(value, MASK)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def record(session: Any, job_id: str, action: Action, actor: Actor, *, now: datetime | None = None,
           changes: Mapping[str, Any] | None = None, note: str | None = None) -> None:
    """Add one entry in ``session``: it commits (or rolls back) with the change it describes."""
    session.add(JobAudit(job_id=job_id, action=action.value, actor=actor.name[:256], source=actor.source.value,
                         at=now or utcnow(), changes=dict(changes) if changes else None,
                         note=note[:2000] if note else None))


def history(store: Store, job_id: str, *, limit: int = 50, offset: int = 0) -> Page[JobAudit]:
    """A job's entries, oldest first (also after the job was deleted)."""
    q = select(JobAudit).where(JobAudit.job_id == job_id).order_by(JobAudit.at, JobAudit.id)
    return paging_page(store, q, limit=limit, offset=offset)


def as_dict(entry: JobAudit) -> dict[str, Any]:
    return row_dict(entry, JobAudit)


def prune(store: Store, *, before: datetime) -> int:
    """Delete entries older than ``before`` (the run retention); returns how many went."""
    with store.session() as s:
        result = s.execute(delete(JobAudit).where(JobAudit.at < before))
        return int(getattr(result, "rowcount", 0) or 0)
