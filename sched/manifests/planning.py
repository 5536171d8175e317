"""The plan of an apply, decided without the database: what is created, changed field by field, removed.

Pure: it takes the jobs the manifest describes (validated spec columns, parents first) and the stored
jobs' columns, and says what an apply would do. The same plan is printed by ``--dry-run`` and then
written by ``applying``, so what the user previews is what happens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clawsched.sched.store.listing import MASK

CREATE, UPDATE, UNCHANGED, REMOVE, ADOPT = "create", "update", "unchanged", "remove", "adopt"
SECRET_FIELDS = ("delivery_secret", "env")


@dataclass(frozen=True)
class Desired:
    """One task's job: where it comes from and its validated columns (``id`` included)."""

    workflow: str
    task: str
    columns: dict[str, Any]


@dataclass(frozen=True)
class Item:
    action: str
    job_id: str
    name: str
    workflow: str | None
    task: str | None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    columns: dict[str, Any] | None = None
    adopted_from: str | None = None  # the id of the job taken over (``--adopt-by name``)


@dataclass(frozen=True)
class Plan:
    items: list[Item]

    @property
    def changed(self) -> bool:
        return any(i.action != UNCHANGED for i in self.items)

    def summary(self) -> dict[str, int]:
        return {a: sum(1 for i in self.items if i.action == a) for a in (CREATE, UPDATE, ADOPT, REMOVE, UNCHANGED)}


def keep_secrets(desired: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """A masked secret in the manifest (as ``export`` writes it) stands for the stored value."""
    out = dict(desired)
    if out.get("delivery_secret") == MASK:
        out["delivery_secret"] = current.get("delivery_secret")
    if isinstance(out.get("env"), dict):
        stored = current.get("env") or {}
        out["env"] = {k: stored.get(k, v) if v == MASK else v for k, v in out["env"].items()}
    return out


def changes(desired: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field -> (stored, wanted) for every column that differs."""
    keys = (set(desired) | set(current)) - {"id"}
    return {k: (current.get(k), desired.get(k)) for k in sorted(keys) if current.get(k) != desired.get(k)}


def make_plan(desired: Sequence[Desired], current: Mapping[str, Mapping[str, Any]],
              removable: Mapping[str, tuple[str, str, str]], adopt: Mapping[str, str] | None = None) -> Plan:
    """``current``: stored columns of the jobs with the desired ids (for an adopted job, the columns of the
    job it takes over, named in ``adopt``: stable id -> old id); ``removable``: id -> (workflow, task,
    name) of stored jobs that may be removed (``--prune``) when the manifest no longer has them."""
    adopt = adopt or {}
    items: list[Item] = []
    for want in desired:
        job_id, name = want.columns["id"], want.columns["name"]
        stored = current.get(job_id)
        if stored is None:
            items.append(Item(CREATE, job_id, name, want.workflow, want.task, columns=want.columns))
            continue
        wanted = keep_secrets(want.columns, stored)
        diff = changes(wanted, stored)
        if job_id in adopt:
            diff = {"id": (adopt[job_id], job_id), **diff}
            items.append(Item(ADOPT, job_id, name, want.workflow, want.task, diff, wanted, adopt[job_id]))
            continue
        items.append(Item(UPDATE if diff else UNCHANGED, job_id, name, want.workflow, want.task, diff, wanted))
    kept = {w.columns["id"] for w in desired}
    for job_id, (workflow, task, name) in removable.items():
        if job_id not in kept:
            items.append(Item(REMOVE, job_id, name, workflow, task))
    return Plan(items)


def shown(name: str, value: Any) -> Any:
    """A value as the plan prints it: secrets masked."""
    if name == "delivery_secret" and value:
        return MASK
    if name == "env" and isinstance(value, dict):
        return dict.fromkeys(value, MASK)
    return value
