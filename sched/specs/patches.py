"""Patches: a partial update in either shape, validated as the whole record it produces.

A patch is merged over the current spec and then parsed like a new job, so an update can never store
what a create would refuse; values the patch made meaningless (the old schedule, a former child's trigger)
are dropped rather than left to contradict it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clawsched.sched.specs.model import INPUT_ONLY, JobSpec
from clawsched.sched.specs.normalise import check_keys, normalise
from clawsched.sched.specs.openclaw import from_openclaw
from clawsched.sched.specs.parse import as_mapping, build
from clawsched.sched.specs.problems import Problems

_SCHEDULE_COLUMNS = ("schedule_kind", "schedule_cron", "schedule_at", "schedule_every_ms", "schedule_anchor")
_CHILD_COLUMNS = ("trigger_on", "trigger_delay_s", "trigger_condition", "approval_required")


def apply_patch(current: JobSpec, patch: Mapping[str, Any]) -> JobSpec:
    """A partial update in either shape, validated as the whole merged record; unknown fields rejected."""
    probs = Problems()
    flat = check_keys(from_openclaw(as_mapping(patch, "patch"), probs, defaults=False), probs)
    if "id" in flat and flat["id"] != current.id:
        probs.add("id", "cannot be changed; create a new job instead")
        flat.pop("id")
    merged = _merge({k: v for k, v in current.model_dump().items() if k not in INPUT_ONLY}, flat)
    return build(normalise(merged, probs), set(merged), probs)


def _merge(current: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The current record with the patch applied, dropping values the patch made meaningless.

    Changing the schedule (or making a job a child) replaces the old schedule instead of leaving two; a
    new session target re-derives the payload kind; making a child a root drops its trigger settings.
    """
    drop: set[str] = set()
    if set(_SCHEDULE_COLUMNS) & patch.keys() or patch.get("parent_id"):
        drop.update(_SCHEDULE_COLUMNS)
    if "parent_id" in patch and not patch["parent_id"]:
        drop.update((*_CHILD_COLUMNS, "schedule_kind"))
    if "session_target" in patch:
        drop.update(("payload_kind", "session_id"))
    merged = {k: v for k, v in current.items() if k not in drop or k in patch}
    merged.update(patch)
    return merged
