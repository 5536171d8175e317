"""Apply and export: the manifest service the CLI (and the API) call.

``apply`` validates every task first (all problems in one error), plans against the stored jobs, and
writes the whole plan in one transaction: a manifest either lands entirely or not at all. ``export``
writes the managed jobs back as a manifest that ``apply`` takes as a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from clawsched.sched import audit, jobs
from clawsched.sched.audit import Action
from clawsched.sched.errors import SpecError
from clawsched.sched.manifests import compiling, planning
from clawsched.sched.manifests.document import Manifest, Task, Workflow
from clawsched.sched.store import rekey
from clawsched.sched.store.engine import Store
from clawsched.sched.store.listing import MASK
from clawsched.sched.store.models import Job, Run, utcnow

_RESCHEDULE = ("schedule_kind", "schedule_cron", "schedule_tz", "schedule_at", "schedule_every_ms",
               "schedule_anchor", "stagger_ms", "parent_id", "enabled")


def apply(store: Store, manifest: Manifest, *, dry_run: bool = False, prune: bool = False,
          adopt_by: str | None = None, now: datetime | None = None) -> planning.Plan:
    """Make the stored jobs what ``manifest`` says; with ``prune`` also remove the managed jobs of its
    workflows that it no longer names; with ``adopt_by="name"`` take over unmanaged jobs of a task's name
    (moved to the stable id with their history). Returns the plan (written unless ``dry_run``)."""
    now = now or utcnow()
    desired = compile_manifest(manifest)
    workflows = {wf.id for wf in manifest.workflows}
    with store.session() as s:
        ids = [d.columns["id"] for d in desired]
        current = {j.id: _columns(j) for j in s.scalars(select(Job).where(Job.id.in_(ids), jobs.LIVE))}
        adopt = _adoptable(s, [d for d in desired if d.columns["id"] not in current]) if adopt_by else {}
        current.update({new: _columns(s.get(Job, old)) for new, old in adopt.items()})
        _check_outside_parents(s, desired, set(adopt.values()))
        removable = _managed(s, workflows) if prune else {}
        plan = planning.make_plan(desired, current, removable, adopt)
        if not dry_run:
            _write(s, plan, now)
    return plan


def compile_manifest(manifest: Manifest) -> list[planning.Desired]:
    """Every task as validated job columns, parents before children; one SpecError names every problem."""
    from clawsched.sched import specs

    out: list[planning.Desired] = []
    errors: list[dict[str, str]] = []
    for w, wf in enumerate(manifest.workflows):
        for t, task in _parents_first(wf, w):
            try:
                columns = specs.parse_job(compiling.compile_task(wf.id, task)).columns()
            except SpecError as exc:
                at = f"workflows[{w}].tasks[{t}]"
                errors += [{"field": f"{at}.{e.get('field')}", "message": str(e.get("message"))}
                           for e in (exc.errors or [{"field": "job", "message": str(exc)}])]
                continue
            out.append(planning.Desired(wf.id, task.id, columns))
    if errors:
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise SpecError(f"the manifest's tasks are not valid jobs: {lines}", errors=errors)
    return out


def _adoptable(s: Any, missing: list[planning.Desired]) -> dict[str, str]:
    """Stable id -> id of the one unmanaged job with the task's name; a name two such jobs share is refused."""
    names = {d.columns["name"] for d in missing}
    found: dict[str, list[str]] = {}
    for job in s.scalars(select(Job).where(Job.name.in_(names), jobs.LIVE).order_by(Job.created_at, Job.id)):
        if compiling.owner(job.origin) is None:
            found.setdefault(job.name, []).append(job.id)
    adopt: dict[str, str] = {}
    for d in missing:
        ids = found.get(d.columns["name"], [])
        if len(ids) > 1:
            raise SpecError(f"--adopt-by name: {len(ids)} jobs are named {d.columns['name']!r} ({', '.join(ids)}); "
                            "rename or delete all but one, then apply again", field="name")
        if ids:
            adopt[d.columns["id"]] = ids[0]
    return adopt


def _check_outside_parents(s: Any, desired: list[planning.Desired], adopted: set[str]) -> None:
    """A parent named by id (``clawsched.parent_id``) rather than by task must already exist (and not be
    a job this apply moves to a new id)."""
    ours = {d.columns["id"] for d in desired} | adopted
    outside = {d.columns["parent_id"]: d for d in desired if d.columns.get("parent_id") not in (None, *ours)}
    if not outside:
        return
    found = set(s.scalars(select(Job.id).where(Job.id.in_(list(outside)))))
    for parent_id, d in outside.items():
        if parent_id not in found:
            raise SpecError(f"workflow {d.workflow!r} task {d.task!r}: parent_id: job {parent_id!r} does not "
                            "exist; name a task of the workflow in trigger.parent, or an existing job",
                            field="parent_id")


def _parents_first(wf: Workflow, w: int) -> list[tuple[int, Task]]:
    """Tasks ordered so each parent precedes its children; a cycle or a chain too deep is refused."""
    by_id = {task.id: (t, task) for t, task in enumerate(wf.tasks)}
    depth: dict[str, int] = {}
    for task in wf.tasks:
        seen, current, d = [task.id], task, 0
        while current.trigger:
            current = by_id[current.trigger.parent][1]
            if current.id in seen:
                raise SpecError(f"workflows[{w}].tasks[{by_id[task.id][0]}].trigger.parent: the chain "
                                f"{' -> '.join([*seen, current.id])} is a cycle", field="trigger.parent")
            seen.append(current.id)
            d += 1
        if d > jobs.MAX_CHAIN_DEPTH:
            raise SpecError(f"workflows[{w}].tasks[{by_id[task.id][0]}].trigger: the chain is {d} deep; the "
                            f"limit is {jobs.MAX_CHAIN_DEPTH}", field="trigger.parent")
        depth[task.id] = d
    return sorted(by_id.values(), key=lambda pair: (depth[pair[1].id], pair[0]))


def _columns(job: Job) -> dict[str, Any]:
    from clawsched.sched import specs

    return specs.spec_from_row(job).columns()


def _managed(s: Any, workflows: set[str]) -> dict[str, tuple[str, str, str]]:
    found: dict[str, tuple[str, str, str]] = {}
    for job in s.scalars(select(Job).where(Job.origin.like(f"{compiling.ORIGIN_PREFIX}%"), jobs.LIVE)):
        owner = compiling.owner(job.origin)
        if owner and owner[0] in workflows:
            found[job.id] = (owner[0], owner[1], job.name)
    return found


def _revived(s: Any, columns: dict[str, Any]) -> Job | None:
    """A deleted job's row (kept for its runs) that the manifest names again: it comes back, runs and all."""
    job = s.get(Job, columns["id"])
    if job is None:
        return None
    for key, value in columns.items():
        setattr(job, key, value)
    return job  # type: ignore[no-any-return]


def _write(s: Any, plan: planning.Plan, now: datetime) -> None:
    """The plan in the caller's transaction: creates and updates parents first, then removals."""
    for item in plan.items:
        if item.action == planning.CREATE and item.columns is not None:
            job = _revived(s, item.columns) or Job(**item.columns)
            job.next_run_at = jobs.first_fire(job, now)
            job.updated_at = now
            if job.deleted_at is None and job.created_at is None:
                job.created_at = now
                s.add(job)
            job.deleted_at = None
            audit.record(s, job.id, Action.ADD, audit.APPLY, now=now, changes=audit.field_diff({}, item.columns))
        elif item.action in (planning.UPDATE, planning.ADOPT) and item.columns is not None:
            if item.adopted_from:
                rekey.rekey_job(s, item.adopted_from, item.job_id)
                s.expire_all()
            job = s.get(Job, item.job_id)
            before = jobs.user_fields(job)
            for key, value in item.columns.items():
                setattr(job, key, value)
            if any(k in item.changes for k in _RESCHEDULE):
                job.next_run_at = jobs.first_fire(job, now)
            job.updated_at = now
            audit.record(s, job.id, Action.UPDATE, audit.APPLY, now=now,
                         changes=audit.field_diff(before, jobs.user_fields(job)))
        s.flush()
    gone = [i.job_id for i in plan.items if i.action == planning.REMOVE]
    doomed = list(dict.fromkeys([*gone, *(d for g in gone for d in jobs.descendants(s, g))]))
    for job_id in doomed:
        audit.record(s, job_id, Action.DELETE, audit.APPLY, now=now, note="removed by apply --prune")
    if doomed:
        s.execute(delete(Run).where(Run.job_id.in_(doomed)))
        s.execute(delete(Job).where(Job.id.in_(doomed)))


def export(store: Store, workflows: Iterable[str] | None = None) -> tuple[dict[str, Any], list[Job]]:
    """The managed jobs (of ``workflows``, default all) as a v0.1 manifest, secrets masked; and the jobs
    left out because no manifest manages them."""
    wanted = set(workflows) if workflows else None
    with store.read() as s:
        rows = list(s.scalars(select(Job).where(jobs.LIVE).order_by(Job.created_at, Job.id)))
    owners = {j.id: compiling.owner(j.origin) for j in rows}
    skipped = [j for j in rows if owners[j.id] is None]
    grouped: dict[str, list[Job]] = {}
    for job in rows:
        owner = owners[job.id]
        if owner and (wanted is None or owner[0] in wanted):
            grouped.setdefault(owner[0], []).append(job)
    return {"version": "0.1", "workflows": [
        {"id": wf, "tasks": _tasks(wf, members, owners)} for wf, members in grouped.items()]}, skipped


def _tasks(wf: str, members: list[Job], owners: dict[str, tuple[str, str] | None]) -> list[dict[str, Any]]:
    from clawsched.sched import specs

    def compile_back(task: dict[str, Any]) -> dict[str, Any]:
        return specs.parse_job(compiling.compile_task(wf, Task.model_validate(task))).columns()

    depth = {j.id: _depth(j, {m.id: m for m in members}) for j in members}
    out = []
    for job in sorted(members, key=lambda j: depth[j.id]):
        parent = owners.get(job.parent_id or "")
        parent_task = parent[1] if parent and parent[0] == wf else None
        task = compiling.task_of(_columns(job), owners[job.id][1], parent_task, compile_back)  # type: ignore[index]
        out.append(_mask(task))
    return out


def _depth(job: Job, members: dict[str, Job]) -> int:
    d, current, seen = 0, job, {job.id}
    while current.parent_id in members and current.parent_id not in seen:
        current = members[current.parent_id]
        seen.add(current.id)
        d += 1
    return d


def _mask(task: dict[str, Any]) -> dict[str, Any]:
    extra = task.get("clawsched") or {}
    if extra.get("delivery_secret"):
        extra["delivery_secret"] = MASK
    if isinstance(extra.get("env"), dict):
        extra["env"] = dict.fromkeys(extra["env"], MASK)
    return task
