"""Job specs: two input shapes, one canonical form, every problem named by field. No database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import String

from clawsched.sched.errors import SpecError
from clawsched.sched.rules.schedules import Schedule
from clawsched.sched.specs import STATE_FIELDS, JobSpec, apply_patch, job_json_schema, parse_job, spec_from_row
from clawsched.sched.specs.governance import GOVERNANCE_FIELDS
from clawsched.sched.store.models import Job

FLAT_AGENT = {
    "name": "Daily Ops Summary",
    "schedule_cron": "0 9 * * *",
    "schedule_tz": "America/New_York",
    "stagger_ms": 30000,
    "session_target": "session:ops-daily",
    "payload_message": "Summarize the last 24 hours.",
    "payload_model": "openclaw/main",
    "payload_thinking": "low",
    "payload_timeout_seconds": 300,
    "run_timeout_ms": 300000,
    "delivery_mode": "announce-always",  # what OpenClaw's "announce" means: the final reply, failures too
    "delivery_channel": "telegram",
    "delivery_to": "111",
    "agent_id": "ops",
    "delete_after_run": 0,
    "enabled": 1,
}
OPENCLAW_AGENT = {
    "name": "Daily Ops Summary",
    "schedule": {"kind": "cron", "expr": "0 9 * * *", "tz": "America/New_York", "staggerMs": 30000},
    "sessionTarget": "session:ops-daily",
    "wakeMode": "now",
    "payload": {"kind": "agentTurn", "message": "Summarize the last 24 hours.", "model": "openclaw/main",
                "thinking": "low", "timeoutSeconds": 300, "toolsAllow": ["*"]},
    "delivery": {"mode": "announce", "channel": "telegram", "to": "111", "bestEffort": True},
    "agentId": "ops",
    "deleteAfterRun": False,
    "enabled": True,
    "state": {"nextRunAtMs": 1795312893159},
}
SHELL = {
    "name": "Disk Space Check",
    "schedule_cron": "*/15 * * * *",
    "session_target": "shell",
    "payload_message": "df -h /",
    "run_timeout_ms": 120000,
    "origin": "system",
}


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as err:
        parse_job(data)
    assert err.value.errors, "a SpecError must list its problems"
    return {e["field"]: e["message"] for e in err.value.errors}


# ---------------------------------------------------------------------------------------------- shapes


def test_both_shapes_normalise_to_the_same_canonical_spec() -> None:
    flat, openclaw = parse_job(FLAT_AGENT), parse_job(OPENCLAW_AGENT)
    assert flat == openclaw
    assert flat.session_target == "session" and flat.session_id == "ops-daily"
    assert flat.payload_kind == "agentTurn" and flat.schedule_kind == "cron"
    assert flat.enabled is True and flat.delete_after_run is False


def test_system_event_and_at_in_both_shapes() -> None:
    openclaw = parse_job({
        "name": "Reminder", "deleteAfterRun": True, "sessionTarget": "main",
        "schedule": {"kind": "at", "at": "2027-02-01T16:00:00Z"},
        "payload": {"kind": "systemEvent", "text": "Reminder: submit expense report."},
    })
    flat = parse_job({
        "name": "Reminder", "delete_after_run": True, "session_target": "main", "schedule_kind": "at",
        "schedule_at": "2027-02-01 16:00:00", "payload_message": "Reminder: submit expense report.",
    })
    # each dialect keeps its own default delivery mode: OpenClaw delivers nothing from a main job, the
    # openclaw-scheduler form announces failures (to a delivery_to, which neither has)
    assert (openclaw.delivery_mode, flat.delivery_mode) == ("none", "announce")
    assert openclaw == flat.model_copy(update={"delivery_mode": "none"})
    assert flat.schedule_at == datetime(2027, 2, 1, 16, tzinfo=UTC)
    assert flat.payload_kind == "systemEvent" and flat.schedule_kind == "at"


def test_every_with_anchor_in_both_shapes() -> None:
    openclaw = parse_job({
        "name": "Hourly check",
        "schedule": {"kind": "every", "everyMs": 3_600_000, "anchorMs": 1767225600000},
        "payload": {"kind": "agentTurn", "message": "Check queue depth."},
        "delivery": {"mode": "webhook", "to": "https://example.invalid/hook"},
    })
    assert openclaw.schedule_kind == "every" and openclaw.schedule_every_ms == 3_600_000
    assert openclaw.schedule_anchor == datetime(2026, 1, 1, tzinfo=UTC)
    assert openclaw.delivery_mode == "webhook" and openclaw.delivery_to == "https://example.invalid/hook"
    flat = parse_job({"name": "x", "payload_message": "y", "schedule_every_ms": 60000,
                      "schedule_anchor": "2026-01-01T00:00:00+01:00"})
    assert flat.schedule_kind == "every" and flat.schedule_anchor == datetime(2025, 12, 31, 23, tzinfo=UTC)


def test_offsetless_at_is_utc_unless_a_zone_is_given() -> None:
    base = {"name": "x", "payload_message": "y", "schedule_kind": "at"}
    assert parse_job({**base, "schedule_at": "2026-07-01T09:00:00"}).schedule_at == datetime(
        2026, 7, 1, 9, tzinfo=UTC
    )
    local = parse_job({**base, "schedule_at": "2026-07-01 09:00:00", "schedule_tz": "America/New_York"})
    assert local.schedule_at == datetime(2026, 7, 1, 13, tzinfo=UTC)


def test_payload_kind_is_derived_from_the_session_target() -> None:
    assert parse_job(SHELL).payload_kind == "shellCommand"
    assert parse_job({**SHELL, "session_target": "main"}).payload_kind == "systemEvent"
    assert parse_job({**SHELL, "session_target": "isolated"}).payload_kind == "agentTurn"


def test_openclaw_command_payload_becomes_a_shell_job() -> None:
    spec = parse_job({"name": "backup", "schedule": "0 2 * * *",
                      "payload": {"kind": "command", "argv": ["tar", "czf", "/tmp/a b.tgz", "/srv"],
                                  "timeoutSeconds": 90}})
    assert spec.session_target == "shell" and spec.payload_kind == "shellCommand"
    assert spec.payload_message == "tar czf '/tmp/a b.tgz' /srv"
    assert spec.run_timeout_ms == 90_000


def test_child_jobs_are_chain_only_and_peer_sentinel_cron_is_tolerated() -> None:
    child = parse_job({"name": "verify", "parent_id": "p1", "trigger_on": "success", "trigger_delay_s": 60,
                       "trigger_condition": r"regex:^OK\b", "approval_required": 1, "payload_message": "v",
                       "schedule_kind": "cron", "schedule_cron": "0 0 31 2 *"})
    assert child.schedule_kind == "chain" and child.schedule_cron is None and child.approval_required is True
    found = problems({"name": "c", "parent_id": "p1", "trigger_on": "success", "payload_message": "x",
                      "schedule_cron": "0 * * * *"})
    assert "trigger_delay_s" in found["schedule_cron"]


def test_legacy_jobs_json_entry_is_accepted() -> None:
    spec = parse_job({"jobId": "job-legacy", "name": "Legacy shaped", "createdAtMs": 1767225600000,
                      "schedule": "*/30 * * * *",
                      "payload": {"kind": "agentturn", "message": "Legacy payload", "deliver": True,
                                  "channel": "telegram", "to": "111", "bestEffortDeliver": True}})
    assert (spec.id, spec.schedule_cron, spec.payload_kind) == ("job-legacy", "*/30 * * * *", "agentTurn")
    # OpenClaw's importer turns delivery hints into delivery.mode "announce": the final reply is delivered
    assert (spec.delivery_mode, spec.delivery_channel, spec.delivery_to) == ("announce-always", "telegram", "111")
    assert spec.session_target == "isolated" and spec.run_timeout_ms == 3_600_000  # OpenClaw's agent budget


def test_state_columns_are_accepted_and_ignored() -> None:
    spec = parse_job({**SHELL, "next_run_at": "2026-01-01 00:00:00", "consecutive_errors": 3})
    assert "next_run_at" not in spec.columns()
    assert {"next_run_at", "consecutive_errors"} <= STATE_FIELDS


# ------------------------------------------------------------------------------------------ rejections


def test_unknown_field_is_named_with_a_suggestion() -> None:
    found = problems({**SHELL, "schedule_crn": "0 * * * *", "sesionTarget": "main"})
    assert "schedule_cron" in found["schedule_crn"]
    assert "sessionTarget" in found["sesionTarget"]


def test_unknown_nested_openclaw_field_is_named() -> None:
    found = problems({**OPENCLAW_AGENT, "schedule": {"kind": "cron", "expr": "0 9 * * *", "timezone": "UTC"}})
    assert "schedule.timezone" in found


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("max_retries", "3", "integer"),
        ("run_timeout_ms", True, "integer"),
        ("enabled", 2, "boolean"),
        ("name", 5, "string"),
        ("env", {"A": 1}, "strings"),
        ("failure_alert", [1], "object"),
    ],
)
def test_wrong_types_name_field_and_type(field: str, value: Any, expected: str) -> None:
    found = problems({**SHELL, field: value})
    assert expected in found[field]
    assert "pydantic" not in found[field] and "Input should" not in found[field]


def test_bad_cron_and_bad_tz_are_both_reported() -> None:
    found = problems({**SHELL, "schedule_cron": "61 * * * *", "schedule_tz": "Mars/Base"})
    assert "6 with seconds first" in found["schedule_cron"]
    assert found["schedule_tz"] == (
        "schedule_tz: 'Mars/Base' is not an IANA time zone; use a name like 'America/New_York' or 'UTC'"
    )


def test_shell_job_needs_an_explicit_run_timeout() -> None:
    found = problems({k: v for k, v in SHELL.items() if k != "run_timeout_ms"})
    assert "run_timeout_ms" in found
    assert "run_timeout_ms" in problems({**SHELL, "run_timeout_ms": 0})


@pytest.mark.parametrize("condition", ["regex:(", "contains:", "startswith:x"])
def test_bad_trigger_condition(condition: str) -> None:
    found = problems({"name": "c", "parent_id": "p1", "trigger_on": "success", "payload_message": "x",
                      "trigger_condition": condition})
    assert "trigger_condition" in found


def test_trigger_on_on_a_root_and_missing_on_a_child() -> None:
    assert "parent_id" in problems({**SHELL, "trigger_on": "success"})["trigger_on"]
    found = problems({"name": "c", "parent_id": "p1", "payload_message": "x"})
    assert "success, failure, complete" in found["trigger_on"]


def test_child_only_settings_on_a_root() -> None:
    found = problems({**SHELL, "approval_required": True, "trigger_delay_s": 5})
    assert set(found) == {"approval_required", "trigger_delay_s"}


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("overlap_policy", "sometimes", "skip, allow, queue"),
        ("delivery_mode", "email", "none, announce, announce-always, webhook"),
        ("approval_auto", "maybe", "approve, reject"),
        ("context_retrieval", "all", "none, recent, hybrid"),
        ("delivery_guarantee", "exactly-once", "at-most-once, at-least-once"),
        ("session_target", "elsewhere", "shell, isolated, main, session"),
    ],
)
def test_bad_enum_lists_the_allowed_values(field: str, value: str, allowed: str) -> None:
    assert allowed in problems({**SHELL, field: value})[field]


def test_missing_required_and_missing_schedule() -> None:
    found = problems({"session_target": "isolated"})
    assert {"name", "payload_message", "schedule_cron"} <= set(found)


def test_webhook_needs_an_http_url_and_strings_are_clean_and_bounded() -> None:
    assert "delivery_to" in problems({**SHELL, "delivery_mode": "webhook", "delivery_to": "ftp://x"})
    assert "control character" in problems({**SHELL, "name": "bad\x07name"})["name"]
    assert "200" in problems({**SHELL, "name": "n" * 201})["name"]
    assert "schedule_every_ms" in problems({"name": "x", "payload_message": "y", "schedule_every_ms": 50})


def test_all_problems_are_collected_at_once() -> None:
    with pytest.raises(SpecError) as err:
        parse_job({"name": "", "schedule_cron": "bad", "overlap_policy": "x", "max_retries": -1, "bogus": 1,
                   "payload_message": "m"})
    fields = [e["field"] for e in err.value.errors]
    assert set(fields) == {"name", "schedule_cron", "overlap_policy", "max_retries", "bogus"}
    assert "5 problems" in str(err.value)


# ----------------------------------------------------------------------------- patches, rows, columns


def test_patch_merges_and_revalidates() -> None:
    current = parse_job(SHELL)
    patched = apply_patch(current, {"max_retries": 2, "schedule_cron": "0 * * * *"})
    assert patched.max_retries == 2 and patched.schedule_cron == "0 * * * *" and patched.name == SHELL["name"]
    switched = apply_patch(current, {"schedule": {"kind": "every", "everyMs": 60000}})
    assert switched.schedule_kind == "every" and switched.schedule_cron is None
    retargeted = apply_patch(current, {"sessionTarget": "isolated"})
    assert retargeted.payload_kind == "agentTurn"
    with pytest.raises(SpecError) as err:
        apply_patch(current, {"trigger_on": "success"})
    assert err.value.errors[0]["field"] == "trigger_on"
    with pytest.raises(SpecError) as err:
        apply_patch(current, {"max_retrys": 1})
    assert err.value.errors[0]["field"] == "max_retrys"


def test_patch_makes_a_child_a_root_only_with_a_schedule() -> None:
    child = parse_job({"name": "c", "parent_id": "p1", "trigger_on": "failure", "payload_message": "x"})
    with pytest.raises(SpecError) as err:
        apply_patch(child, {"parent_id": None})
    assert err.value.errors[0]["field"] == "schedule_cron"
    root = apply_patch(child, {"parent_id": None, "schedule_cron": "0 * * * *"})
    assert root.trigger_on is None and root.schedule_kind == "cron"


def test_columns_build_a_job_row_and_the_row_round_trips() -> None:
    spec = parse_job({**FLAT_AGENT, "id": "ops-daily", "run_now": True})
    columns = spec.columns()
    assert "run_now" not in columns and columns["id"] == "ops-daily"
    assert "id" not in parse_job(SHELL).columns()
    assert all(not hasattr(v, "__members__") and type(v) in (str, int, bool, type(None), dict, datetime)
               for v in columns.values())
    row = Job(**columns)
    assert spec_from_row(row) == spec.model_copy(update={"run_now": False})
    assert Schedule.of(row).seed == "ops-daily"


def test_spec_fields_follow_the_job_columns() -> None:
    columns = {c.name: c for c in Job.__table__.columns}
    user_columns = set(columns) - STATE_FIELDS
    kept = set(GOVERNANCE_FIELDS)  # the peer's v0.2 fields share the one ``governance`` column
    assert set(JobSpec.model_fields) == (user_columns - {"governance"}) | kept | {"run_now"}
    schema = job_json_schema()
    for name, column in columns.items():
        if name not in user_columns or not isinstance(column.type, String) or not column.type.length:
            continue
        options = schema["properties"][name].get("anyOf", [schema["properties"][name]])
        options = [schema["$defs"][o["$ref"].rsplit("/", 1)[1]] if "$ref" in o else o for o in options]
        enums = [v for o in options for v in o.get("enum", [])]
        if enums:  # an enum column: every allowed value fits
            assert max(map(len, enums)) <= column.type.length, name
        else:
            assert column.type.length in [o.get("maxLength") for o in options], name


def test_json_schema_lists_types_defaults_and_enums() -> None:
    schema = job_json_schema()
    assert set(schema["required"]) == {"name", "payload_message"}
    assert schema["properties"]["run_timeout_ms"]["default"] == 300000
    assert "skip" in str(schema["$defs"]["OverlapPolicy"]["enum"])
