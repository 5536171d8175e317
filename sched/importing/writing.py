"""One source job written with its history in one transaction: all of it, or nothing of it.

The job is validated as ``jobs add`` validates it (``specs.parse_job``: the same messages, naming the field
and the fix), its parent must already be here, and then the job row, its runs, approvals and ledger entries
are written by ``store.importing`` in one session. A refusal rolls that session back; a dry run does every
write and rolls it back too, so it reports exactly what the import would do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clawsched.sched import audit
from clawsched.sched.audit import Action
from clawsched.sched.errors import ClawschedError, SpecError
from clawsched.sched.importing.report import JobOutcome, Status
from clawsched.sched.store import importing
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Job

_SCHEDULE = ("schedule_kind", "schedule_cron", "schedule_tz", "schedule_at", "schedule_every_ms",
             "schedule_anchor", "stagger_ms", "parent_id", "enabled")


@dataclass
class JobImport:
    """What a source says about one job: its spec input, its bookkeeping, its runs and related rows."""

    id: str
    name: str
    spec_input: Mapping[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    related: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: SpecError | None = None  # the source's rows could not even be read as a job


class _RolledBack(Exception):
    """Ends a rehearsal: everything it wrote is rolled back."""


@contextmanager
def rehearsal(store: Store, dry_run: bool) -> Iterator[Session | None]:
    """For a dry run, one transaction that every job writes into (each behind its savepoint, so a child
    finds its parent) and that is rolled back at the end; for a real import, None: a transaction a job."""
    if not dry_run:
        yield None
        return
    try:
        with store.session() as s:
            yield s
            raise _RolledBack
    except _RolledBack:
        pass


def write_job(store: Store, item: JobImport, *, now: datetime, session: Session | None = None) -> JobOutcome:
    """Validate and write one job with its history; a refusal is an outcome, never an exception.

    With ``session`` (a rehearsal) the job is written behind a savepoint of it; otherwise in a transaction
    of its own. Either way a refusal leaves nothing of the job behind."""
    from clawsched.sched import specs

    try:
        if item.refused is not None:
            raise item.refused
        columns = {**specs.parse_job(item.spec_input).columns(), **item.state, "id": item.id}
        if session is not None:
            with session.begin_nested():
                return _write(session, columns, item, now)
        with store.session() as s:
            return _write(s, columns, item, now)
    except ClawschedError as exc:
        return JobOutcome(item.id, item.name, "refused", field=exc.field or "job", reason=str(exc))
    except IntegrityError as exc:
        return JobOutcome(item.id, item.name, "refused", field="runs",
                          reason=f"its history conflicts with rows already here ({exc.orig}); nothing written")


def _write(s: Any, columns: dict[str, Any], item: JobImport, now: datetime) -> JobOutcome:
    from clawsched.sched.jobs import first_fire

    parent = columns.get("parent_id")
    if parent and importing.job_row(s, parent) is None:
        raise SpecError(f"parent_id: the parent job {parent!r} is not here (it was refused or is not in the "
                        "source); import or create it first", field="parent_id")
    existing = importing.job_row(s, item.id)
    status: Status = "unchanged"
    if existing is None:
        importing.insert_job(s, {**columns, "next_run_at": first_fire(Job(**columns), now)})
        audit.record(s, item.id, Action.ADD, audit.IMPORTER, now=now, changes=audit.field_diff({}, columns))
        status = "imported"
    elif diff := {k: v for k, v in columns.items() if k != "updated_at" and existing.get(k) != v}:
        audit.record(s, item.id, Action.UPDATE, audit.IMPORTER, now=now,
                     changes=audit.field_diff({k: existing.get(k) for k in diff}, diff))
        if set(diff) & set(_SCHEDULE):
            diff["next_run_at"] = first_fire(Job(**{**existing, **columns}), now)
        importing.update_job(s, item.id, {**diff, "updated_at": now})
        status = "updated"
    runs = importing.keep(s, "runs", item.runs, compare=False, new=existing is None)
    related = [importing.keep(s, table, rows) for table, rows in item.related.items()]
    if status == "unchanged" and (runs.added or any(c.added or c.changed for c in related)):
        status = "updated"
    return JobOutcome(item.id, item.name, status, runs_added=runs.added, runs_kept=runs.same)


def write_records(store: Store, table: str, rows: list[dict[str, Any]], *,
                  session: Session | None = None) -> dict[str, int]:
    """Rows beside the jobs (aliases, agents, messages), kept by their keys, in one transaction (or in the
    rehearsal's ``session``)."""
    if session is not None:
        counts = importing.keep(session, table, rows)
    else:
        with store.session() as s:
            counts = importing.keep(s, table, rows)
    return {"added": counts.added, "changed": counts.changed, "unchanged": counts.same}
