"""Parsing: input in either shape to one validated ``JobSpec``, or one ``SpecError`` naming every problem.

The steps are always the same: translate OpenClaw's shape, keep the known keys, normalise, validate each
field (pydantic), then the cross-field rules. ``apply_patch`` (``patches``) reuses them on a merged record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from clawsched.sched.errors import SpecError
from clawsched.sched.specs.fields import type_name
from clawsched.sched.specs.model import FIELDS, INPUT_ONLY, JobSpec, allowed_values
from clawsched.sched.specs.normalise import check_keys, normalise
from clawsched.sched.specs.openclaw import from_openclaw
from clawsched.sched.specs.problems import Problems
from clawsched.sched.specs.rules import check_rules


def parse_job(data: Mapping[str, Any]) -> JobSpec:
    """Validate a new job given as openclaw-scheduler's flat JSON or OpenClaw's cron-tool JSON.

    Raises SpecError listing every problem in ``errors`` (field + message); state columns such as
    ``next_run_at`` (from ``jobs get`` output fed back in) and OpenClaw's ``state`` are ignored.
    """
    probs = Problems()
    flat = check_keys(from_openclaw(as_mapping(data, "job"), probs, defaults=True), probs)
    explicit = set(flat)
    return build(normalise(flat, probs), explicit, probs)


def spec_from_row(job: Any) -> JobSpec:
    """Rebuild the spec of a stored ``Job`` row (or any object with its attributes), e.g. to patch it."""
    flat = {f: getattr(job, f) for f in FIELDS if f not in INPUT_ONLY and getattr(job, f, None) is not None}
    for key, value in (getattr(job, "governance", None) or {}).items():
        flat.setdefault(key, value)
    probs = Problems()
    return build(normalise(flat, probs), set(flat) | {"run_timeout_ms"}, probs)


def as_mapping(data: Any, what: str) -> Mapping[str, Any]:
    """A spec or patch must be a JSON object; anything else is named before any field is looked at."""
    if not isinstance(data, Mapping):
        raise SpecError(f"{what}: expected a JSON object, got {type_name(data)}", field="job")
    return data


def build(flat: dict[str, Any], explicit: set[str], probs: Problems) -> JobSpec:
    """Validate the normalised flat form field by field, then as a whole; raise if anything failed.

    A record that fails field validation is still built (unvalidated, without its bad fields) so the
    cross-field rules can report their problems in the same error.
    """
    try:
        spec = JobSpec.model_validate(flat)
    except ValidationError as exc:
        seen: set[str] = set()
        for err in exc.errors():
            field, message = _translate(err)
            if field not in seen and field not in probs.bad:
                seen.add(field)
                probs.add(field, message)
        spec = JobSpec.model_construct(**{k: v for k, v in flat.items() if k not in probs.bad})
    check_rules(spec, explicit, probs)
    probs.raise_if_any()
    return spec


def _translate(err: Mapping[str, Any]) -> tuple[str, str]:
    """A pydantic error as (field, plain message) without pydantic's wording or URLs."""
    loc = err.get("loc") or ("job",)
    field = str(loc[0])
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return field, "is required"
    if kind in ("enum", "literal_error"):
        return field, f"{err.get('input')!r} is not allowed; use one of {', '.join(allowed_values(field))}"
    if kind == "value_error":
        return field, str(ctx.get("error", "is not valid"))
    if kind == "string_too_long":
        return field, f"is longer than {ctx.get('max_length')} characters"
    if kind == "greater_than_equal":
        return field, f"must be >= {ctx.get('ge')}"
    if kind == "less_than_equal":
        return field, f"must be <= {ctx.get('le')}"
    if kind == "string_pattern_mismatch":
        return field, "may contain only letters, digits and . _ : @ - (starting with a letter or digit)"
    if kind in ("string_type", "string_unicode") and len(loc) > 1:
        return field, "expected an object whose values are strings"
    expected = {"dict_type": "an object", "string_type": "a string", "timezone_aware": "an aware date-time",
                "datetime_type": "an ISO-8601 date-time", "datetime_parsing": "an ISO-8601 date-time",
                "datetime_from_date_parsing": "an ISO-8601 date-time"}.get(kind, "a valid value")
    return field, f"expected {expected}, got {type_name(err.get('input'))}"
