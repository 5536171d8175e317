"""Job services: create, update, enable, delete, run now. The CLI and the HTTP API both call these.

Every write validates the whole spec first (``specs``), checks chain rules that need the database
(parent exists, depth, cycles), and only then writes, in one transaction: bad input leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update

from clawsched.sched import audit, runs
from clawsched.sched.audit import Action, Actor
from clawsched.sched.errors import Conflict, NotFound, SpecError
from clawsched.sched.paging import Page
from clawsched.sched.paging import page as paging_page
from clawsched.sched.rules import pausing, schedules
from clawsched.sched.states import RunStatus, ScheduleKind, Trigger
from clawsched.sched.store.engine import Store
from clawsched.sched.store.listing import masked
from clawsched.sched.store.models import Job, Run, new_id, row_dict, utcnow

log = logging.getLogger(__name__)

MAX_CHAIN_DEPTH = 10


def create(store: Store, data: Mapping[str, Any], *, now: datetime | None = None, dry_run: bool = False,
           actor: Actor = audit.INTERNAL) -> Job:
    """Validate and insert a job; with ``dry_run`` validate everything and write nothing. The audit entry
    (``actor``, every field set) is written in the same transaction."""
    from clawsched.sched import specs  # pydantic: only writes pay for it, not `jobs list`

    now = now or utcnow()
    spec = specs.parse_job(data)
    columns = spec.columns()
    with store.session() as s:
        if columns.get("id") and (old := s.get(Job, columns["id"])) is not None and old.deleted_at is not None:
            raise Conflict(f"job {columns['id']!r} was deleted and its id is kept for its runs; purge it first "
                           f"(`clawsched jobs delete {columns['id']} --purge` deletes its runs too) or use another id")
        if columns.get("id") and s.get(Job, columns["id"]) is not None:
            raise Conflict(f"job {columns['id']!r} already exists; use `clawsched jobs update` to change it")
        depth = _check_parent(s, columns.get("parent_id"), job_id=columns.get("id"))
        job = Job(**columns)
        job.id = job.id or new_id()  # the stagger offset is derived from the id: fix it before the first fire
        job.next_run_at = first_fire(job, now, run_now=spec.run_now)
        if depth > MAX_CHAIN_DEPTH:
            raise SpecError(f"parent_id: chain depth would be {depth}; the limit is {MAX_CHAIN_DEPTH}",
                            field="parent_id")
        if dry_run:  # never added to the session: the commit writes nothing
            job.id = job.id or "(dry-run)"
            job.created_at = job.updated_at = now
            return job
        s.add(job)
        s.flush()
        audit.record(s, job.id, Action.ADD, actor, now=now, changes=audit.field_diff({}, user_fields(job)))
        return job


def user_fields(job: Job) -> dict[str, Any]:
    """The job's user-set fields (its spec, not its bookkeeping): what an audit diff compares."""
    from clawsched.sched import specs

    return {f: getattr(job, f, None) for f in specs.FIELDS if f not in specs.INPUT_ONLY}


def _unmasked(patch: Mapping[str, Any], job: Job) -> dict[str, Any]:
    """A patch built from a masked listing (``jobs get``, edited, sent back) keeps the stored secrets."""
    from clawsched.sched.store.listing import MASK

    out = dict(patch)
    if out.get("delivery_secret") == MASK:
        out["delivery_secret"] = job.delivery_secret
    if isinstance(out.get("env"), dict):
        stored = job.env or {}
        out["env"] = {k: stored.get(k, v) if v == MASK else v for k, v in out["env"].items()}
    return out


def update(store: Store, job_id: str, patch: Mapping[str, Any], *, now: datetime | None = None,
           dry_run: bool = False, actor: Actor = audit.INTERNAL) -> Job:
    """Apply a partial change; the merged record is validated as a whole. The audit entry (the field diff)
    is written in the same transaction; a change that changes nothing records nothing."""
    from clawsched.sched import specs

    now = now or utcnow()
    with store.session() as s:
        job = _load(s, job_id)
        spec = specs.apply_patch(specs.spec_from_row(job), _unmasked(patch, job))
        columns = spec.columns()
        columns.pop("id", None)
        if columns.get("parent_id") != job.parent_id:
            depth = _check_parent(s, columns.get("parent_id"), job_id=job.id)
            below = _subtree_height(s, job.id)
            if depth + below > MAX_CHAIN_DEPTH:
                raise SpecError(
                    f"parent_id: the chain would be {depth + below} deep; the limit is {MAX_CHAIN_DEPTH}",
                    field="parent_id",
                )
        schedule_changed = any(getattr(job, k) != columns.get(k, getattr(job, k)) for k in _SCHEDULE_FIELDS)
        re_enabled = bool(columns.get("enabled")) and not job.enabled
        if dry_run:  # detached: the changes below are shown, never flushed
            s.expunge(job)
        before = user_fields(job)
        for key, value in columns.items():
            setattr(job, key, value)
        if schedule_changed or re_enabled or spec.run_now:
            job.next_run_at = first_fire(job, now, run_now=spec.run_now)
            _keep_pause(job)
        job.updated_at = now
        if not dry_run and (changes := audit.field_diff(before, user_fields(job))):
            audit.record(s, job.id, Action.UPDATE, actor, now=now, changes=changes)
        return job


def _keep_pause(job: Job) -> None:
    """A paused job stays paused through a reschedule: nothing fires before its pause ends."""
    if job.paused_at is not None:
        job.next_run_at = pausing.next_run_of_paused(job)


_SCHEDULE_FIELDS = ("schedule_kind", "schedule_cron", "schedule_tz", "schedule_at", "schedule_every_ms",
                    "schedule_anchor", "stagger_ms", "parent_id")


def first_fire(job: Job, now: datetime, *, run_now: bool = False) -> datetime | None:
    """The first ``next_run_at`` of a new or rescheduled job."""
    if job.parent_id or job.schedule_kind == ScheduleKind.CHAIN.value:
        return None
    if run_now:
        return now
    if job.schedule_kind == ScheduleKind.AT.value:
        return job.schedule_at
    return schedules.Schedule.of(job).next_after(now)


def set_enabled(store: Store, job_id: str, enabled: bool, *, now: datetime | None = None,
                actor: Actor = audit.INTERNAL) -> Job:
    now = now or utcnow()
    with store.session() as s:
        job = _load(s, job_id)
        if enabled and not job.enabled:
            job.next_run_at = first_fire(job, now)
            _keep_pause(job)
        if enabled != job.enabled:
            audit.record(s, job.id, Action.ENABLE if enabled else Action.DISABLE, actor, now=now,
                         changes={"enabled": [job.enabled, enabled]})
        job.enabled = enabled
        job.updated_at = now
        return job


def delete_job(store: Store, job_id: str, *, purge: bool = False, actor: Actor = audit.INTERNAL,
               now: datetime | None = None) -> int:
    """Delete a job and its descendants (chains cascade); returns how many jobs went. Each deleted job
    gets an audit entry (its last fields), in the same transaction.

    History is kept: each row stays, marked ``deleted_at``, disabled, unscheduled and detached from its
    parent, so its runs keep their job's id and name (``runs list --job``); its open runs are cancelled.
    ``purge`` removes the rows and their runs for good.
    """
    now = now or utcnow()
    with store.session() as s:
        _load(s, job_id)
        ids = [job_id, *descendants(s, job_id)]
        for gone in s.scalars(select(Job).where(Job.id.in_(ids))):
            note = None if gone.id == job_id else f"a descendant of {job_id}, deleted with it"
            audit.record(s, gone.id, Action.DELETE, actor, now=now, note=note,
                         changes=audit.field_diff(user_fields(gone), {}))
        if purge:
            s.execute(delete(Run).where(Run.job_id.in_(ids)))
            s.execute(delete(Job).where(Job.id.in_(ids)))
            return len(ids)
        runs.cancel_for_jobs(s, ids, "job deleted", now)
        _close_approvals(s, ids, "job deleted", now)
        s.execute(sql_update(Job).where(Job.id.in_(ids)).values(
            deleted_at=now, enabled=False, next_run_at=None, parent_id=None, updated_at=now))
        return len(ids)


def run_now(store: Store, job_id: str, *, now: datetime | None = None) -> str:
    """Queue a manual run (even for a disabled job); the beat sends it as soon as it is woken."""
    return runs.enqueue(store, job_id, trigger=Trigger.MANUAL, now=now)


def get(store: Store, job_id: str) -> Job:
    with store.read() as s:
        return _load(s, job_id)


LIVE = Job.deleted_at.is_(None)


def list_jobs(store: Store, *, job_type: str | None = None, limit: int | None = None) -> list[Job]:
    with store.read() as s:
        q = select(Job).where(LIVE).order_by(Job.created_at, Job.id)
        if job_type:
            q = q.where(Job.job_type == job_type)
        if limit:
            q = q.limit(limit)
        return list(s.scalars(q))


def names(store: Store, job_ids: Iterable[str]) -> dict[str, str]:
    """Each job's name by id, for tables that show names beside ids; a deleted job's ends `` (deleted)``."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    with store.read() as s:
        rows = s.execute(select(Job.id, Job.name, Job.deleted_at).where(Job.id.in_(ids)))
        return {job_id: name + (" (deleted)" if gone else "") for job_id, name, gone in rows}


def count(store: Store) -> dict[str, int]:
    with store.read() as s:
        total = s.scalar(select(func.count()).select_from(Job).where(LIVE)) or 0
        enabled = s.scalar(select(func.count()).select_from(Job).where(LIVE, Job.enabled.is_(True))) or 0
    return {"total": int(total), "enabled": int(enabled)}


def own_queues(store: Store) -> list[str]:
    """The queues jobs name for themselves (``queue``), so ``status`` shows them even with no consumer."""
    with store.read() as s:
        return sorted(str(q) for q in s.scalars(select(Job.queue).where(Job.queue.is_not(None)).distinct()))


def next_due(store: Store) -> datetime | None:
    """The earliest ``next_run_at`` of an enabled job: when the beat fires next (None: nothing scheduled)."""
    with store.read() as s:
        return s.scalar(select(func.min(Job.next_run_at)).where(Job.enabled.is_(True)))


def with_origin(store: Store, origin: str, *, limit: int = 500) -> list[Job]:
    """Jobs created by one producer (``origin``: heartbeat rules, dispatches, spawns), oldest first."""
    with store.read() as s:
        q = select(Job).where(Job.origin == origin, LIVE).order_by(Job.created_at, Job.id).limit(limit)
        return list(s.scalars(q))


def prune_expired(store: Store, now: datetime | None = None) -> int:
    """Delete disabled jobs whose ``ttl_hours`` have passed since their last run."""
    now = now or utcnow()
    removed = 0
    with store.session() as s:
        q = select(Job).where(Job.enabled.is_(False), Job.ttl_hours.is_not(None), Job.last_run_at.is_not(None))
        for job in s.scalars(q):
            if job.last_run_at and job.last_run_at + timedelta(hours=job.ttl_hours or 0) <= now:
                audit.record(s, job.id, Action.DELETE, audit.SCHEDULER, now=now, note="ttl_hours passed")
                s.delete(job)
                removed += 1
    return removed


def descendants(s: Any, job_id: str) -> list[str]:
    found: list[str] = []
    frontier = [job_id]
    while frontier:
        children = list(s.scalars(select(Job.id).where(Job.parent_id.in_(frontier))))
        children = [c for c in children if c not in found and c != job_id]
        found.extend(children)
        frontier = children
    return found


def depth_of(s: Any, job_id: str | None) -> int:
    """How many ancestors ``job_id`` has (a root is at depth 0)."""
    depth, seen, current = 0, set(), job_id
    while current:
        if current in seen:
            raise SpecError(f"parent_id: job {job_id!r} is part of a cycle", field="parent_id")
        seen.add(current)
        current = s.scalar(select(Job.parent_id).where(Job.id == current))
        depth += 1 if current else 0
    return depth


def _check_parent(s: Any, parent_id: str | None, *, job_id: str | None) -> int:
    """Depth the job would have under ``parent_id``; refuses a missing parent or a cycle."""
    if not parent_id:
        return 0
    if s.get(Job, parent_id) is None:
        raise SpecError(f"parent_id: job {parent_id!r} does not exist", field="parent_id")
    if job_id is not None and (parent_id == job_id or parent_id in descendants(s, job_id)):
        raise SpecError(
            f"parent_id: making {parent_id!r} the parent of {job_id!r} would create a cycle", field="parent_id"
        )
    return depth_of(s, parent_id) + 1


def _subtree_height(s: Any, job_id: str) -> int:
    height, frontier = 0, [job_id]
    while True:
        frontier = list(s.scalars(select(Job.id).where(Job.parent_id.in_(frontier))))
        if not frontier:
            return height
        height += 1


def _load(s: Any, job_id: str) -> Job:
    job = s.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} not found; list jobs with `clawsched jobs list`")
    if job.deleted_at is not None:
        raise NotFound(f"job {job_id!r} ({job.name}) was deleted; its runs are kept: "
                       f"`clawsched runs list --job {job_id}`")
    return job


def cancel(store: Store, job_id: str, *, cascade: bool = True, reason: str = "cancelled by operator",
           now: datetime | None = None, actor: Actor = audit.INTERNAL) -> dict[str, Any]:
    """Disable a job (and, with ``cascade``, its descendants) and cancel their open runs.

    Pending, queued, running and awaiting-approval runs become ``cancelled`` (guarded per status), and
    their pending approvals are closed. A running run's worker notices within a heartbeat, or at once
    through the cancel channel (``cancels.announce``), and kills the run's process group.
    """
    now = now or utcnow()
    with store.session() as s:
        _load(s, job_id)
        ids = [job_id, *(descendants(s, job_id) if cascade else [])]
        for was in s.scalars(select(Job.id).where(Job.id.in_(ids), Job.enabled.is_(True))):
            audit.record(s, was, Action.DISABLE, actor, now=now, changes={"enabled": [True, False]},
                         note=f"cancelled: {reason}")
        s.execute(sql_update(Job).where(Job.id.in_(ids)).values(enabled=False, updated_at=now))
        cancelled = runs.cancel_for_jobs(s, ids, reason, now)
        _close_approvals(s, ids, reason, now)
    running_ids = [run_id for run_id, status in cancelled if status == RunStatus.RUNNING.value]
    log.info("job %s cancelled: %d job(s) disabled, %d run(s) cancelled (%d running)", job_id, len(ids),
             len(cancelled), len(running_ids))
    return {"jobs": ids, "runs": [run_id for run_id, _ in cancelled], "running": running_ids}


def _close_approvals(s: Any, job_ids: list[str], reason: str, now: datetime) -> None:
    """The jobs' pending approvals end rejected (by ``cancel``): nothing is left waiting for a person."""
    from clawsched.sched.states import ApprovalStatus
    from clawsched.sched.store.models import Approval

    s.execute(
        sql_update(Approval).where(Approval.job_id.in_(job_ids), Approval.status == ApprovalStatus.PENDING.value)
        .values(status=ApprovalStatus.REJECTED.value, resolved_at=now, resolved_by="cancel", reason=reason)
    )


def tree(store: Store, root_id: str | None = None) -> list[dict[str, Any]]:
    """Jobs as a forest of ``{"job": row, "children": [...]}`` (one tree when ``root_id`` is given)."""
    from clawsched.sched.rules import chains

    with store.read() as s:
        if root_id:
            _load(s, root_id)
            rows = [s.get(Job, i) for i in [root_id, *descendants(s, root_id)]]
            return chains.job_forest([r for r in rows if r is not None], root_id=root_id)
        return chains.job_forest(s.scalars(select(Job).where(LIVE).order_by(Job.created_at, Job.id)))


def as_dict(job: Job) -> dict[str, Any]:
    """A job as JSON-ready data (instants as ISO-8601 UTC), with the delivery secret masked."""
    return masked(row_dict(job, Job))


def page(store: Store, *, job_type: str | None = None, enabled: bool | None = None, agent_id: str | None = None,
         parent_id: str | None = None, limit: int = 50, offset: int = 0) -> Page[Job]:
    """One page of jobs (oldest first), filtered by type, enabled, agent and parent, with the total."""
    q = select(Job).where(LIVE).order_by(Job.created_at, Job.id)
    for column, wanted in ((Job.job_type, job_type), (Job.enabled, enabled), (Job.agent_id, agent_id),
                           (Job.parent_id, parent_id)):
        if wanted is not None:
            q = q.where(column == wanted)
    return paging_page(store, q, limit=limit, offset=offset)
