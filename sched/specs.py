"""One validated job spec, accepted in two shapes and normalised to one canonical form.

Users arrive with openclaw-scheduler's flat JSON (``schedule_cron``, ``session_target``, ``payload_message``)
or with OpenClaw's cron-tool JSON (``schedule: {kind, expr, tz}``, ``payload: {kind, message}``,
``sessionTarget``, ``delivery``). Both are translated to the flat column names of ``Job``, normalised
(``session:<id>`` split, timestamps made aware UTC, kinds derived), and validated as a whole. Every problem
is collected so the CLI and the API can list them all at once; nothing half-valid leaves this module.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from clawsched.sched.errors import SpecError
from clawsched.sched.rules.schedules import validate_cron, zone
from clawsched.sched.states import (
    ContextRetrieval,
    DeliveryGuarantee,
    DeliveryMode,
    OverlapPolicy,
    ScheduleKind,
    SessionTarget,
    TriggerOn,
)

# Control characters other than tab, LF and CR: they corrupt terminals, logs and shell commands.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# openclaw-scheduler stores this never-matching cron on at-jobs and children; imported rows carry it.
NEVER_CRON = "0 0 31 2 *"
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
# Scheduling state columns: shown by ``jobs get``, accepted back as input and ignored (never user-set).
STATE_FIELDS = frozenset({
    "next_run_at", "last_run_at", "last_status", "consecutive_errors", "queued_count", "created_at",
    "updated_at", "watchdog_started_at",
})
INPUT_ONLY = frozenset({"run_now"})
SCHEDULE_FIELDS = ("schedule_cron", "schedule_at", "schedule_every_ms")
_KIND_FIELD = {ScheduleKind.CRON: "schedule_cron", ScheduleKind.AT: "schedule_at",
               ScheduleKind.EVERY: "schedule_every_ms"}
OPENCLAW_AGENT_BUDGET_MS = 3_600_000  # OpenClaw's own watchdog for agent turns without timeoutSeconds


# ------------------------------------------------------------------------------------------ field types


def _strict_int(value: Any) -> Any:
    """Integers only: JSON's 5.0 is fine, "5" and true are not (they hide mistakes in hand-written JSON)."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {_type_name(value)}")
    return value


def _bool01(value: Any) -> Any:
    """Booleans as JSON true/false or the 0/1 that openclaw-scheduler's SQLite rows carry."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected a boolean (true/false or 0/1), got {value!r}")


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_type_name(value)}")
    if match := _CONTROL.search(value):
        raise ValueError(f"contains the control character {match.group()!r}; only tab and newlines are ok")
    return value


def _required_text(value: Any) -> Any:
    if isinstance(_text(value), str) and not value.strip():
        raise ValueError("must not be empty")
    return value


def _optional_text(value: Any) -> Any:
    """Empty or blank optional strings mean "not set", as in openclaw-scheduler."""
    if value is None:
        return None
    return None if not _text(value).strip() else value


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


Int = Annotated[int, BeforeValidator(_strict_int)]
Bool = Annotated[bool, BeforeValidator(_bool01)]
Name = Annotated[str, Field(max_length=200), BeforeValidator(_required_text)]
Message = Annotated[str, Field(max_length=100_000), BeforeValidator(_required_text)]
Id = Annotated[str, Field(max_length=64, pattern=_ID_PATTERN)] | None
Tz = Annotated[str, Field(max_length=128), BeforeValidator(_required_text)]
S16 = Annotated[Annotated[str, Field(max_length=16)] | None, BeforeValidator(_optional_text)]
S64 = Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(_optional_text)]
S128 = Annotated[Annotated[str, Field(max_length=128)] | None, BeforeValidator(_optional_text)]
S256 = Annotated[Annotated[str, Field(max_length=256)] | None, BeforeValidator(_optional_text)]
S512 = Annotated[Annotated[str, Field(max_length=512)] | None, BeforeValidator(_optional_text)]
S1024 = Annotated[Annotated[str, Field(max_length=1024)] | None, BeforeValidator(_optional_text)]
S4096 = Annotated[Annotated[str, Field(max_length=4096)] | None, BeforeValidator(_optional_text)]
S100K = Annotated[Annotated[str, Field(max_length=100_000)] | None, BeforeValidator(_optional_text)]
Instant = AwareDatetime | None


class JobSpec(BaseModel):
    """A job as the user describes it: the user-settable columns of ``Job``, same names and defaults."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=True, validate_default=True, title="Job"
    )

    id: Id = Field(default=None, description="Optional user-given id (default: a generated uuid4 hex)")
    name: Name
    description: S100K = None
    enabled: Bool = True
    schedule_kind: ScheduleKind = ScheduleKind.CRON
    schedule_cron: S128 = Field(default=None, description="5 fields, 6 with seconds first, or @daily etc.")
    schedule_at: Instant = Field(default=None, description="ISO-8601; without an offset: in schedule_tz")
    schedule_every_ms: Annotated[Int | None, Field(ge=100)] = None
    schedule_anchor: Instant = None
    schedule_tz: Tz = "UTC"
    stagger_ms: Annotated[Int, Field(ge=0)] = 0
    session_target: SessionTarget = SessionTarget.ISOLATED
    session_id: S256 = None
    agent_id: Annotated[str, Field(max_length=128), BeforeValidator(_required_text)] = "main"
    payload_kind: Literal["agentTurn", "systemEvent", "shellCommand"] = "agentTurn"
    payload_message: Message
    payload_model: S256 = None
    payload_thinking: S64 = None
    payload_timeout_seconds: Annotated[Int | None, Field(ge=1)] = None
    wake_mode: Literal["now", "next-heartbeat"] = "now"
    execution_intent: Literal["execute", "plan"] = "execute"
    execution_read_only: Bool = False
    env: dict[str, str] | None = None
    cwd: S1024 = None
    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    run_timeout_ms: Annotated[Int, Field(ge=1)] = 300_000
    max_queued_dispatches: Annotated[Int, Field(ge=1)] = 25
    max_pending_approvals: Annotated[Int, Field(ge=1)] = 10
    max_trigger_fanout: Annotated[Int, Field(ge=1)] = 25
    output_store_limit_bytes: Annotated[Int, Field(ge=128)] = 65536
    output_excerpt_limit_bytes: Annotated[Int, Field(ge=64)] = 2000
    output_summary_limit_bytes: Annotated[Int, Field(ge=64)] = 5000
    output_offload_threshold_bytes: Annotated[Int, Field(ge=128)] = 65536
    max_retries: Annotated[Int, Field(ge=0)] = 0
    resource_pool: S128 = None
    auth_profile: S256 = None
    delivery_guarantee: DeliveryGuarantee = DeliveryGuarantee.AT_MOST_ONCE
    delivery_mode: DeliveryMode = DeliveryMode.NONE
    delivery_channel: S64 = None
    delivery_to: S1024 = None
    delivery_secret: S256 = None
    delivery_opt_out_reason: S512 = None
    failure_alert: dict[str, Any] | None = None
    origin: S256 = None
    delete_after_run: Bool = False
    ttl_hours: Annotated[Int | None, Field(ge=1)] = None
    parent_id: Annotated[Annotated[str, Field(max_length=64, pattern=_ID_PATTERN)] | None,
                         BeforeValidator(_optional_text)] = None
    trigger_on: TriggerOn | None = None
    trigger_delay_s: Annotated[Int, Field(ge=0)] = 0
    trigger_condition: S1024 = Field(default=None, description="contains:<text> or regex:<python regex>")
    approval_required: Bool = False
    approval_timeout_s: Annotated[Int, Field(ge=1)] = 3600
    approval_auto: Literal["approve", "reject"] = "reject"
    context_retrieval: ContextRetrieval = ContextRetrieval.NONE
    context_retrieval_limit: Annotated[Int, Field(ge=1)] = 5
    preferred_session_key: S512 = None
    job_type: Literal["standard", "watchdog"] = "standard"
    watchdog_target_label: S256 = None
    watchdog_check_cmd: S4096 = None
    watchdog_timeout_min: Annotated[Int | None, Field(ge=1)] = None
    watchdog_alert_channel: S64 = None
    watchdog_alert_target: S256 = None
    watchdog_self_destruct: Bool = True
    run_now: Bool = Field(default=False, description="Input only: fire once as soon as the job is saved")

    def columns(self) -> dict[str, Any]:
        """Values for ``Job(**columns)`` or an UPDATE: input-only fields dropped, ``id`` only if given."""
        values = self.model_dump(exclude=set(INPUT_ONLY))
        if values["id"] is None:
            del values["id"]
        return values

    @property
    def is_child(self) -> bool:
        return self.parent_id is not None


FIELDS = tuple(JobSpec.model_fields)
_DATETIME_FIELDS = ("schedule_at", "schedule_anchor")


def _allowed(field: str) -> list[str]:
    """The enum or literal values a field accepts, read from its annotation (one source of truth)."""
    annotation = JobSpec.model_fields[field].annotation
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, str) and hasattr(arg, "__members__"):
            return [member.value for member in arg.__members__.values()]
        if args := get_args(arg):
            if all(isinstance(a, str) for a in args):
                return list(args)
    return []


# ----------------------------------------------------------------------------------------------- errors


class _Problems:
    """Collects every problem with its field; ``origin`` maps canonical fields back to what the user wrote."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.origin: dict[str, str] = {}
        self.bad: set[str] = set()

    def add(self, field: str, message: str) -> None:
        shown = self.origin.get(field, field)
        self.items.append({"field": field, "message": f"{shown}: {message}"})
        self.bad.add(field)

    def suppress(self, *fields: str) -> None:
        """Mark fields as already explained, so a follow-on "is required" does not repeat the cause."""
        self.bad.update(fields)

    def add_error(self, err: SpecError) -> None:
        for item in err.errors or [{"field": err.field or "job", "message": str(err)}]:
            field = item["field"]
            text = item["message"]
            self.add(field, text.split(": ", 1)[1] if text.startswith(f"{field}: ") else text)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            message = self.items[0]["message"]
        else:
            listed = "; ".join(i["message"] for i in self.items)
            message = f"invalid job ({len(self.items)} problems): {listed}"
        raise SpecError(message, field=self.items[0]["field"], errors=list(self.items))


def _translate(err: Mapping[str, Any]) -> tuple[str, str]:
    """A pydantic error as (field, plain message) without pydantic's wording or URLs."""
    loc = err.get("loc") or ("job",)
    field = str(loc[0])
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return field, "is required"
    if kind in ("enum", "literal_error"):
        return field, f"{err.get('input')!r} is not allowed; use one of {', '.join(_allowed(field))}"
    if kind == "value_error":
        return field, str(ctx.get("error", "is not valid"))
    if kind == "string_too_long":
        return field, f"is longer than {ctx.get('max_length')} characters"
    if kind == "greater_than_equal":
        return field, f"must be >= {ctx.get('ge')}"
    if kind == "string_pattern_mismatch":
        return field, "may contain only letters, digits and . _ : @ - (starting with a letter or digit)"
    if kind in ("string_type", "string_unicode") and len(loc) > 1:
        return field, "expected an object whose values are strings"
    expected = {"dict_type": "an object", "string_type": "a string", "timezone_aware": "an aware date-time",
                "datetime_type": "an ISO-8601 date-time", "datetime_parsing": "an ISO-8601 date-time",
                "datetime_from_date_parsing": "an ISO-8601 date-time"}.get(kind, "a valid value")
    return field, f"expected {expected}, got {_type_name(err.get('input'))}"


# ------------------------------------------------------------------------------------ OpenClaw's shape

_OC_TOP = {"deleteAfterRun": "delete_after_run", "agentId": "agent_id", "sessionKey": "preferred_session_key",
           "sessionTarget": "session_target", "wakeMode": "wake_mode", "jobId": "id"}
_OC_IGNORED = frozenset({"createdAtMs", "updatedAtMs", "state"})
_OC_PAYLOAD_IGNORED = frozenset({"fallbacks", "allowUnsafeExternalContent", "lightContext", "toolsAllow",
                                 "bestEffortDeliver", "noOutputTimeoutSeconds", "outputMaxBytes", "input"})
_OC_DELIVERY_IGNORED = frozenset({"bestEffort", "accountId", "threadId", "failureDestination",
                                  "completionDestination"})
OPENCLAW_FIELDS = (*_OC_TOP, *_OC_IGNORED, "schedule", "payload", "delivery", "failureAlert")


def _put(flat: dict[str, Any], probs: _Problems, field: str, value: Any, source: str) -> None:
    if field in flat:
        probs.add(field, f"given twice (as {field!r} and as {source!r}); keep one")
        return
    flat[field] = value
    probs.origin[field] = source


def _unknown(probs: _Problems, where: str, keys: Iterable[str], known: Iterable[str]) -> None:
    choices = list(known)
    for key in keys:
        close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        probs.add(f"{where}{key}", f"unknown field{hint}")


def _from_openclaw_schedule(raw: Any, flat: dict[str, Any], probs: _Problems) -> None:
    if isinstance(raw, str):  # legacy jobs.json: a bare cron string
        _put(flat, probs, "schedule_cron", raw, "schedule")
        _put(flat, probs, "schedule_kind", "cron", "schedule")
        return
    if not isinstance(raw, Mapping):
        probs.add("schedule", f"expected an object like {{'kind': 'cron', 'expr': '0 9 * * *'}}, got "
                  f"{_type_name(raw)}")
        probs.suppress(*SCHEDULE_FIELDS)
        return
    kind = raw.get("kind") or ("at" if {"at", "atMs"} & raw.keys() else
                               "every" if "everyMs" in raw else "cron")
    keys = {"cron": {"expr": "schedule_cron", "cron": "schedule_cron", "tz": "schedule_tz",
                     "staggerMs": "stagger_ms"},
            "at": {"at": "schedule_at", "atMs": "schedule_at", "tz": "schedule_tz"},
            "every": {"everyMs": "schedule_every_ms", "anchorMs": "schedule_anchor"}}.get(kind)
    if keys is None:
        probs.origin["schedule_kind"] = "schedule.kind"
        probs.add("schedule_kind", f"{kind!r} is not supported; use cron, at or every")
        probs.suppress(*SCHEDULE_FIELDS)
        return
    _put(flat, probs, "schedule_kind", kind, "schedule.kind")
    _unknown(probs, "schedule.", [k for k in raw if k != "kind" and k not in keys], keys)
    for key, field in keys.items():
        if key in raw and raw[key] is not None:
            _put(flat, probs, field, raw[key], f"schedule.{key}")


def _from_openclaw_payload(raw: Any, flat: dict[str, Any], probs: _Problems) -> None:
    if not isinstance(raw, Mapping):
        probs.add("payload", f"expected an object like {{'kind': 'agentTurn', 'message': '...'}}, got "
                  f"{_type_name(raw)}")
        probs.suppress("payload_message")
        return
    kind = str(raw.get("kind") or ("systemEvent" if "text" in raw else "agentTurn")).lower()
    keys = {"systemevent": {"text": "payload_message"},
            "agentturn": {"message": "payload_message", "model": "payload_model",
                          "thinking": "payload_thinking", "timeoutSeconds": "payload_timeout_seconds"},
            "command": {"argv": "payload_message", "cwd": "cwd", "env": "env",
                        "timeoutSeconds": "run_timeout_ms"}}.get(kind)
    if keys is None:
        probs.origin["payload_kind"] = "payload.kind"
        unsupported = raw.get("kind")
        probs.add("payload_kind", f"{unsupported!r} is not supported; use systemEvent, agentTurn or command")
        probs.suppress("payload_message")
        return
    legacy = {"deliver", "channel", "provider", "to"}
    _unknown(probs, "payload.", [k for k in raw if k != "kind" and k not in keys and k not in legacy
                                 and k not in _OC_PAYLOAD_IGNORED], keys)
    _put(flat, probs, "payload_kind", {"systemevent": "systemEvent", "agentturn": "agentTurn",
                                       "command": "shellCommand"}[kind], "payload.kind")
    for key, field in keys.items():
        if key in raw and raw[key] is not None:
            _put(flat, probs, field, _payload_value(kind, key, raw[key]), f"payload.{key}")
    if kind == "agentturn" and isinstance(raw.get("timeoutSeconds"), int) and raw["timeoutSeconds"] > 0:
        _put(flat, probs, "run_timeout_ms", raw["timeoutSeconds"] * 1000, "payload.timeoutSeconds")
    if legacy & raw.keys() and "delivery_mode" not in flat:
        _put(flat, probs, "delivery", {"mode": "none" if raw.get("deliver") is False else "announce",
                                       "channel": raw.get("channel") or raw.get("provider"),
                                       "to": raw.get("to")}, "payload.deliver")


def _payload_value(kind: str, key: str, value: Any) -> Any:
    """OpenClaw command payloads carry argv and seconds; the flat form carries a shell line and ms."""
    if kind == "command" and key == "argv" and isinstance(value, list):
        return shlex.join(str(v) for v in value)
    if kind == "command" and key == "timeoutSeconds" and isinstance(value, int | float):
        return int(value * 1000)
    if kind == "agentturn" and key == "timeoutSeconds" and value == 0:
        return None  # OpenClaw: 0 means no timeout
    return value


def _from_openclaw_delivery(raw: Any, flat: dict[str, Any], probs: _Problems) -> None:
    if not isinstance(raw, Mapping):
        probs.add("delivery", f"expected an object like {{'mode': 'announce'}}, got {_type_name(raw)}")
        return
    keys = {"mode": "delivery_mode", "channel": "delivery_channel", "to": "delivery_to"}
    _unknown(probs, "delivery.", [k for k in raw if k not in keys and k not in _OC_DELIVERY_IGNORED], keys)
    mode = raw.get("mode") or "announce"
    _put(flat, probs, "delivery_mode", "announce" if mode == "deliver" else mode, "delivery.mode")
    for key in ("channel", "to"):
        if raw.get(key) is not None:
            _put(flat, probs, keys[key], raw[key], f"delivery.{key}")


def _from_openclaw(data: Mapping[str, Any], probs: _Problems, *, defaults: bool) -> dict[str, Any]:
    """Translate OpenClaw's camelCase and nested keys into flat columns; flat keys pass through as is.

    ``defaults`` applies OpenClaw's defaults for what a whole job leaves out; a patch gets none.
    """
    flat = {k: v for k, v in data.items() if k not in _OC_TOP and k not in OPENCLAW_FIELDS}
    for key, field in _OC_TOP.items():
        if key in data and data[key] is not None:
            _put(flat, probs, field, data[key], key)
    if "failureAlert" in data:
        alert = data["failureAlert"]
        _put(flat, probs, "failure_alert", {"enabled": False} if alert is False else alert, "failureAlert")
    if "schedule" in data:
        _from_openclaw_schedule(data["schedule"], flat, probs)
    if data.get("delivery") is not None:
        _from_openclaw_delivery(data["delivery"], flat, probs)
    if "payload" in data:
        _from_openclaw_payload(data["payload"], flat, probs)
    if legacy := flat.pop("delivery", None):  # delivery hints inside an old payload
        _from_openclaw_delivery(legacy, flat, probs)
    if defaults and isinstance(data.get("payload"), Mapping):
        _openclaw_defaults(flat, probs)
    return flat


def _openclaw_defaults(flat: dict[str, Any], probs: _Problems) -> None:
    """OpenClaw's documented defaults for what its JSON leaves out (session target, delivery, budget)."""
    kind = flat.get("payload_kind")
    if "session_target" not in flat:
        flat["session_target"] = {"systemEvent": "main", "shellCommand": "shell"}.get(str(kind), "isolated")
    if kind == "agentTurn" and flat["session_target"] == "isolated" and "delivery_mode" not in flat:
        flat["delivery_mode"] = "announce"
    if kind == "agentTurn" and "run_timeout_ms" not in flat:
        flat["run_timeout_ms"] = OPENCLAW_AGENT_BUDGET_MS
    if kind == "shellCommand" and "run_timeout_ms" not in flat:
        flat["run_timeout_ms"] = 600_000  # OpenClaw's default budget for command payloads


# ----------------------------------------------------------------------------------- flat normalisation


def _check_keys(flat: Mapping[str, Any], probs: _Problems) -> dict[str, Any]:
    known = set(FIELDS) | STATE_FIELDS
    _unknown(probs, "", [k for k in flat if k not in known], [*FIELDS, *OPENCLAW_FIELDS])
    return {k: v for k, v in flat.items() if k in FIELDS}


def _split_session_target(flat: dict[str, Any], probs: _Problems) -> None:
    target = flat.get("session_target")
    if not isinstance(target, str):
        return
    if target.startswith("session:"):
        if "session_id" in flat and flat["session_id"] != target[8:]:
            probs.add("session_id", f"conflicts with session_target {target!r}")
        flat["session_target"], flat["session_id"] = "session", target[8:]
    elif target == "current":
        probs.add("session_target", "'current' is resolved by the OpenClaw gateway when a job is created; "
                  "use 'session:<id>' to keep a named session")


def _parse_instant(value: Any, tz: Any, field: str, probs: _Problems) -> datetime | None:
    """ISO-8601 (also 'YYYY-MM-DD HH:MM:SS') or epoch ms; no offset means the job's zone, default UTC."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            probs.add(field, f"{value!r} is not an ISO-8601 date-time; use e.g. '2026-06-01T09:00:00Z'")
            return None
    elif isinstance(value, datetime):
        parsed = value
    else:
        probs.add(field, f"expected an ISO-8601 date-time, got {_type_name(value)}")
        return None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=zone(tz) if isinstance(tz, str) else UTC)
        except SpecError:
            parsed = parsed.replace(tzinfo=UTC)  # the zone itself is reported by the rules
    return parsed.astimezone(UTC)


def _normalise_schedule(flat: dict[str, Any], probs: _Problems) -> None:
    """Derive schedule_kind and enforce "children have no clock, roots need one"."""
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
    elif kind not in ("cron", "at", "every") or not _ok(probs, *SCHEDULE_FIELDS):
        return  # an invalid kind is reported by the field validation, a bad schedule object above
    elif flat.get(needed := _KIND_FIELD[ScheduleKind(kind)]) is None:
        probs.add(needed, f"a root job needs a schedule: schedule_kind {kind!r} requires {needed} "
                  "(or set parent_id to make it a chain child)")
    else:
        for field in given:
            if field != needed:
                probs.add(field, f"is not used by schedule_kind {kind!r}; remove it")


def _normalise(flat: dict[str, Any], probs: _Problems) -> dict[str, Any]:
    _split_session_target(flat, probs)
    _normalise_schedule(flat, probs)
    for field in _DATETIME_FIELDS:
        if field in flat:
            flat[field] = _parse_instant(flat[field], flat.get("schedule_tz", "UTC"), field, probs)
    if "payload_kind" not in flat:
        target = flat.get("session_target", "isolated")
        flat["payload_kind"] = {"shell": "shellCommand", "main": "systemEvent"}.get(str(target), "agentTurn")
    return {k: v for k, v in flat.items() if k not in probs.bad}


# ------------------------------------------------------------------------------------------ whole rules


def _rules(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    """Cross-field rules; each skips fields that already failed so one mistake is reported once."""
    for rule in (_rule_time, _rule_chain, _rule_condition, _rule_target, _rule_delivery, _rule_limits):
        rule(spec, explicit, probs)


def _ok(probs: _Problems, *fields: str) -> bool:
    return not probs.bad.intersection(fields)


def _rule_time(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    if _ok(probs, "schedule_tz"):
        try:
            zone(spec.schedule_tz)
        except SpecError as err:
            probs.add_error(err)
    if spec.schedule_kind == "cron" and spec.schedule_cron and _ok(probs, "schedule_cron"):
        try:
            validate_cron(spec.schedule_cron, spec.schedule_tz if _ok(probs, "schedule_tz") else "UTC")
        except SpecError as err:
            probs.add_error(err)


def _rule_chain(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    """Children are started by their parent's outcome; gates and delays only make sense there."""
    if not _ok(probs, "parent_id"):
        return
    allowed = ", ".join(_allowed("trigger_on"))
    if spec.parent_id and spec.trigger_on is None and _ok(probs, "trigger_on"):
        probs.add("trigger_on", f"is required for a child job (parent_id set); use one of {allowed}")
    if spec.parent_id:
        return
    if spec.trigger_on is not None:
        probs.add("trigger_on", "only child jobs have a trigger; set parent_id to chain this job after "
                  "another, or remove trigger_on")
    if isinstance(spec.trigger_delay_s, int) and spec.trigger_delay_s > 0:
        probs.add("trigger_delay_s", "only delays child jobs (parent_id set); roots follow their schedule")
    if spec.trigger_condition is not None:
        probs.add("trigger_condition", "only applies to child jobs (parent_id set)")
    if spec.approval_required is True:
        probs.add("approval_required", "approval gates apply to child jobs: put the risky step in a child "
                  "job (parent_id, trigger_on) with approval_required: the parent runs, the child waits")


def _rule_condition(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    condition = spec.trigger_condition
    if not isinstance(condition, str) or not _ok(probs, "trigger_condition"):
        return
    if condition.startswith("contains:") and condition[len("contains:"):]:
        return
    if condition.startswith("regex:") and condition[len("regex:"):]:
        try:
            re.compile(condition[len("regex:"):])
        except re.error as exc:
            probs.add("trigger_condition", f"the regex does not compile ({exc}); use Python regex syntax")
        return
    probs.add("trigger_condition", "must be 'contains:<text>' or 'regex:<python regex>' (text not empty)")


_PAYLOAD_KINDS = {"shell": ("shellCommand",), "main": ("systemEvent",),
                  "isolated": ("agentTurn", "systemEvent"), "session": ("agentTurn",)}


def _rule_target(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    target = spec.session_target
    if not _ok(probs, "session_target"):
        return
    kinds = _PAYLOAD_KINDS.get(str(target), ())
    if _ok(probs, "payload_kind") and kinds and spec.payload_kind not in kinds:
        probs.add("payload_kind", f"{spec.payload_kind!r} does not run in session_target {target!r}; "
                  f"use {' or '.join(kinds)} (or leave payload_kind out to derive it)")
    if target == "session" and not spec.session_id and _ok(probs, "session_id"):
        probs.add("session_id", "is required for session_target 'session'; write it as 'session:<id>'")
    if target != "session" and spec.session_id and _ok(probs, "session_id"):
        probs.add("session_id", f"is only used with session_target 'session:<id>', not {target!r}")
    if target == "shell" and "run_timeout_ms" not in explicit and _ok(probs, "run_timeout_ms"):
        probs.add("run_timeout_ms", "is required for shell jobs (an integer > 0, in milliseconds), so a hung "
                  "command is killed; e.g. 120000")


def _rule_delivery(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    if spec.delivery_mode != "webhook" or not _ok(probs, "delivery_mode", "delivery_to"):
        return
    url = spec.delivery_to if isinstance(spec.delivery_to, str) else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        probs.add("delivery_to", f"delivery_mode 'webhook' needs an http(s) URL here, got {url or None!r}")


def _rule_limits(spec: JobSpec, explicit: set[str], probs: _Problems) -> None:
    store, excerpt = spec.output_store_limit_bytes, spec.output_excerpt_limit_bytes
    summary = spec.output_summary_limit_bytes
    if all(isinstance(v, int) for v in (store, excerpt, summary)) and _ok(
        probs, "output_store_limit_bytes", "output_excerpt_limit_bytes", "output_summary_limit_bytes"
    ):
        if excerpt > store:
            probs.add("output_excerpt_limit_bytes", f"must not exceed output_store_limit_bytes ({store})")
        if summary < excerpt:
            probs.add("output_summary_limit_bytes", f"must be >= output_excerpt_limit_bytes ({excerpt})")
    if spec.job_type == "watchdog" and not spec.watchdog_check_cmd and _ok(probs, "watchdog_check_cmd"):
        probs.add("watchdog_check_cmd", "is required for job_type 'watchdog'")


# ------------------------------------------------------------------------------------------- public API


def _build(flat: dict[str, Any], explicit: set[str], probs: _Problems) -> JobSpec:
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
    _rules(spec, explicit, probs)
    probs.raise_if_any()
    return spec


def _as_mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise SpecError(f"{what}: expected a JSON object, got {_type_name(data)}", field="job")
    return data


def parse_job(data: Mapping[str, Any]) -> JobSpec:
    """Validate a new job given as openclaw-scheduler's flat JSON or OpenClaw's cron-tool JSON.

    Raises SpecError listing every problem in ``errors`` (field + message); state columns such as
    ``next_run_at`` (from ``jobs get`` output fed back in) and OpenClaw's ``state`` are ignored.
    """
    probs = _Problems()
    flat = _check_keys(_from_openclaw(_as_mapping(data, "job"), probs, defaults=True), probs)
    explicit = set(flat)
    return _build(_normalise(flat, probs), explicit, probs)


_SCHEDULE_COLUMNS = ("schedule_kind", "schedule_cron", "schedule_at", "schedule_every_ms", "schedule_anchor")
_CHILD_COLUMNS = ("trigger_on", "trigger_delay_s", "trigger_condition", "approval_required")


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


def apply_patch(current: JobSpec, patch: Mapping[str, Any]) -> JobSpec:
    """A partial update in either shape, validated as the whole merged record; unknown fields rejected."""
    probs = _Problems()
    flat = _check_keys(_from_openclaw(_as_mapping(patch, "patch"), probs, defaults=False), probs)
    if "id" in flat and flat["id"] != current.id:
        probs.add("id", "cannot be changed; create a new job instead")
        flat.pop("id")
    merged = _merge({k: v for k, v in current.model_dump().items() if k not in INPUT_ONLY}, flat)
    return _build(_normalise(merged, probs), set(merged), probs)


def spec_from_row(job: Any) -> JobSpec:
    """Rebuild the spec of a stored ``Job`` row (or any object with its attributes), e.g. to patch it."""
    flat = {f: getattr(job, f) for f in FIELDS if f not in INPUT_ONLY and getattr(job, f, None) is not None}
    probs = _Problems()
    return _build(_normalise(flat, probs), set(flat) | {"run_timeout_ms"}, probs)


def job_json_schema() -> dict[str, Any]:
    """JSON schema of the flat form (types, defaults, enums, limits) for ``clawsched schema jobs``."""
    schema = JobSpec.model_json_schema(mode="validation")
    schema["description"] = (
        "A clawsched job in flat form (openclaw-scheduler's field names). OpenClaw cron-tool JSON "
        "(schedule/payload/delivery objects, camelCase keys) is also accepted and normalised to this."
    )
    return schema


def suggest_field(name: str) -> str | None:
    """The known field closest to a misspelt one (flat or OpenClaw), for messages outside this module."""
    close = difflib.get_close_matches(name, [*FIELDS, *OPENCLAW_FIELDS], n=1, cutoff=0.6)
    return close[0] if close else None
