"""The flat form made canonical before validation: one spelling for each thing a user can write.

``session:<id>`` is split into target and id, timestamps become aware UTC (epoch ms, ISO-8601, or local
to the job's zone), the schedule kind and payload kind are derived when left out, and a child job loses
the never-matching cron that openclaw-scheduler stores on it. Problems are collected, not raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import regex

from clawsched.sched.errors import SpecError
from clawsched.sched.rules import budgets, chains, jsregex, session_keys
from clawsched.sched.rules.schedules import zone
from clawsched.sched.specs.fields import type_name
from clawsched.sched.specs.governance import unpack
from clawsched.sched.specs.model import FIELDS, SCHEDULE_FIELDS, STATE_FIELDS, JobSpec
from clawsched.sched.specs.openclaw import OPENCLAW_FIELDS
from clawsched.sched.specs.problems import Problems, ok, unknown
from clawsched.sched.states import ScheduleKind

# openclaw-scheduler stores this never-matching cron on at-jobs and children; imported rows carry it.
NEVER_CRON = "0 0 31 2 *"
_KIND_FIELD = {ScheduleKind.CRON: "schedule_cron", ScheduleKind.AT: "schedule_at",
               ScheduleKind.EVERY: "schedule_every_ms"}
_DATETIME_FIELDS = ("schedule_at", "schedule_anchor")


def check_keys(flat: Mapping[str, Any], probs: Problems) -> dict[str, Any]:
    """Only ``JobSpec``'s fields go on: state columns (``jobs get`` output fed back) drop silently, others
    are reported as unknown with the closest known name; ``governance`` is spread into its fields."""
    flat = unpack(dict(flat))
    known = set(FIELDS) | STATE_FIELDS
    unknown(probs, "", [k for k in flat if k not in known], [*FIELDS, *OPENCLAW_FIELDS])
    return {k: v for k, v in flat.items() if k in FIELDS and not (v is None and k in _DEFAULTED)}


# A null for a field that has a default means "not given", as a stored row of the peer writes it (a NULL
# ``trigger_delay_s`` or ``max_retries``); nullable fields keep their null.
_DEFAULTED = frozenset(name for name, info in JobSpec.model_fields.items()
                       if not info.is_required() and info.default is not None)


def _split_session_target(flat: dict[str, Any], probs: Problems) -> None:
    """``session:<id>`` is one string to the user and two columns to the store."""
    target = flat.get("session_target")
    if not isinstance(target, str):
        return
    if target.startswith("session:"):
        if "session_id" in flat and flat["session_id"] != target[8:]:
            probs.add("session_id", f"conflicts with session_target {target!r}")
        flat["session_target"], flat["session_id"] = "session", target[8:]
        if why := session_keys.problem(target[8:]):
            probs.add("session_target", f"session key {why}")
    preferred = flat.get("preferred_session_key")
    if isinstance(preferred, str) and (why := session_keys.problem(preferred)):
        probs.add("preferred_session_key", f"session key {why}")
    if target == "current":
        probs.add("session_target", "'current' is resolved by the OpenClaw gateway when a job is created; "
                  "use 'session:<id>' to keep a named session")


def _parse_instant(value: Any, tz: Any, field: str, probs: Problems) -> datetime | None:
    """ISO-8601 (also 'YYYY-MM-DD HH:MM:SS') or epoch ms; no offset means the job's zone, default UTC."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _in_range(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value), field, probs)
        except (OverflowError, ValueError):
            probs.add(field, f"{value!r} ms after 1970 is out of range; use a date-time up to the year {MAX_YEAR}")
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            probs.add(field, f"{value!r} is not an ISO-8601 date-time; use e.g. '2026-06-01T09:00:00Z'")
            return None
    elif isinstance(value, datetime):
        parsed = value
    else:
        probs.add(field, f"expected an ISO-8601 date-time, got {type_name(value)}")
        return None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=zone(tz) if isinstance(tz, str) else UTC)
        except SpecError:
            parsed = parsed.replace(tzinfo=UTC)  # the zone itself is reported by the rules
    try:
        return _in_range(parsed.astimezone(UTC), field, probs)
    except OverflowError:
        probs.add(field, f"{value!r} has no UTC time (out of range); use a date-time up to the year {MAX_YEAR}")
        return None


MAX_YEAR = 9000  # leaves room to schedule after any accepted instant without overflowing a datetime


def _in_range(instant: datetime, field: str, probs: Problems) -> datetime | None:
    if instant.year > MAX_YEAR:
        probs.add(field, f"{instant.isoformat()} is out of range; use a date-time up to the year {MAX_YEAR}")
        return None
    return instant


def _normalise_schedule(flat: dict[str, Any], probs: Problems) -> None:
    """Derive schedule_kind and enforce "children have no clock, roots need one"."""
    for field in SCHEDULE_FIELDS:  # a blank schedule is no schedule (it used to make a job that never fires)
        if isinstance(flat.get(field), str) and not flat[field].strip():
            flat.pop(field)
    if flat.get("schedule_cron") == NEVER_CRON and (
        flat.get("parent_id") or flat.get("schedule_kind") not in (None, "cron")
    ):
        flat.pop("schedule_cron")
    given = [f for f in SCHEDULE_FIELDS if flat.get(f) is not None]
    kind = flat.get("schedule_kind")
    if flat.get("parent_id"):
        for field in given:
            probs.add(field, "a child job (parent_id set) runs when its parent finishes and has no schedule "
                      "of its own; remove it and use trigger_delay_s to delay the child")
        if kind not in (None, "chain", "cron"):
            probs.add("schedule_kind", f"{kind!r} is not possible for a child job; children are 'chain'")
        flat["schedule_kind"] = "chain"
        return
    if kind is None:
        if len(given) > 1:
            probs.add(given[1], f"give one schedule, not {' and '.join(given)}")
            return
        kind = {"schedule_at": "at", "schedule_every_ms": "every"}.get(given[0], "cron") if given else "cron"
        flat["schedule_kind"] = kind
    if kind == "chain":
        probs.add("schedule_kind", "'chain' is for child jobs: set parent_id and trigger_on, or give the job "
                  "a schedule (cron, at or every)")
    elif kind not in ("cron", "at", "every") or not ok(probs, *SCHEDULE_FIELDS):
        return  # an invalid kind is reported by the field validation, a bad schedule object above
    elif flat.get(needed := _KIND_FIELD[ScheduleKind(kind)]) is None:
        probs.add(needed, f"a root job needs a schedule: schedule_kind {kind!r} requires {needed} "
                  "(or set parent_id to make it a chain child)")
    else:
        for field in given:
            if field != needed:
                probs.add(field, f"is not used by schedule_kind {kind!r}; remove it")


def _condition(flat: dict[str, Any], probs: Problems) -> None:
    """A ``regex:`` condition the engine cannot compile is read as JavaScript (the peer's conditions are
    ``new RegExp`` patterns: ``(?<name>...)``, ``\\k<name>``, ``[^]``) and stored translated."""
    condition = flat.get("trigger_condition")
    if not isinstance(condition, str) or not condition.startswith("regex:") or not condition[6:]:
        return
    try:
        chains.compile_regex(condition[6:])
        return
    except regex.error as exc:
        python_error = exc
    try:
        flat["trigger_condition"] = jsregex.condition_from_javascript(condition)
    except jsregex.Untranslatable as why:
        probs.add("trigger_condition", f"the regex compiles neither as Python regex ({python_error}) nor as "
                  f"JavaScript ({why}); fix the pattern")


def _split_pool(flat: dict[str, Any], probs: Problems) -> None:
    """``{"name": "gpu", "slots": 2}`` is one pool to the user and two columns to the store."""
    pool = flat.get("resource_pool")
    if not isinstance(pool, Mapping):
        return
    unknown(probs, "resource_pool.", [k for k in pool if k not in ("name", "slots")], ["name", "slots"])
    if "name" not in pool:
        probs.add("resource_pool.name", "is required: give the pool's name, e.g. {\"name\": \"gpu\", \"slots\": 2}")
    if "slots" in pool and "pool_slots" in flat and flat["pool_slots"] != pool["slots"]:
        probs.add("pool_slots", f"conflicts with resource_pool.slots {pool['slots']!r}; give one of them")
    flat["resource_pool"] = pool.get("name")
    if "slots" in pool:
        flat["pool_slots"] = pool["slots"]


def _check_budget(flat: dict[str, Any], probs: Problems) -> None:
    """``budget`` holds only the known limits, each a whole number >= 1 (``rules.budgets``)."""
    budget = flat.get("budget")
    if not isinstance(budget, Mapping):
        return  # None, or a wrong type the field validation reports
    unknown(probs, "budget.", [k for k in budget if k not in budgets.LIMITS], budgets.LIMITS)
    for key in budgets.LIMITS:
        value = budget.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            probs.add(f"budget.{key}", f"must be a whole number >= 1, got {value!r}")
    flat["budget"] = {k: v for k, v in budget.items() if v is not None} or None


def normalise(flat: dict[str, Any], probs: Problems) -> dict[str, Any]:
    """The canonical flat form, without the fields that already failed (so they are reported once)."""
    _split_session_target(flat, probs)
    _split_pool(flat, probs)
    _check_budget(flat, probs)
    _condition(flat, probs)
    _normalise_schedule(flat, probs)
    for field in _DATETIME_FIELDS:
        if field in flat:
            flat[field] = _parse_instant(flat[field], flat.get("schedule_tz", "UTC"), field, probs)
    if "payload_kind" not in flat:
        target = flat.get("session_target", "isolated")
        flat["payload_kind"] = {"shell": "shellCommand", "main": "systemEvent"}.get(str(target), "agentTurn")
    return {k: v for k, v in flat.items() if k not in probs.bad}
