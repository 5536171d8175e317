"""openclaw-scheduler's rows in clawsched's terms: a job row as a spec plus its state, a run row as a run.

Pure: each function takes the peer's row (a dict of its column names) and returns clawsched's columns.
What the two systems mean differently is translated here, once (``docs/migration.md``, "Importing"):

- instants are the peer's SQLite UTC text (``YYYY-MM-DD HH:MM:SS``, or ISO-8601 from old rows);
- ``regex:`` conditions are JavaScript (``rules.jsregex``);
- a run the peer left ``running`` is ``crashed`` (the peer's own start marks it so; it is not running now);
- an approval's placeholder run that the peer closed ``approved`` is ``skipped`` with the reason (the work
  ran as a run of its own); one not yet dispatched is ``pending`` again, as clawsched's approve leaves it;
- a retry's ``triggered_by_run`` is its failed run (the peer's lineage), kept as ``retry_of`` alone;
- a run's ``context_summary``, dispatch and v0.2 outcomes are kept in its ``trigger_context``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from clawsched.sched.errors import SpecError
from clawsched.sched.rules import jsregex
from clawsched.sched.states import Trigger

_STATE = ("last_run_at", "last_status", "consecutive_errors", "created_at", "updated_at")
_RUN_KEPT = ("status", "started_at", "finished_at", "duration_ms", "last_heartbeat", "session_key", "session_id",
             "summary", "error_message", "shell_exit_code", "shell_signal", "shell_stdout", "shell_stderr",
             "shell_stdout_path", "shell_stderr_path", "shell_stdout_bytes", "shell_stderr_bytes", "run_timeout_ms",
             "retry_count", "retry_of", "triggered_by_run", "replay_of", "idempotency_key")
_RUN_EXTRA = ("context_summary", "dispatch_queue_id", "identity_resolved", "trust_evaluation",
              "authorization_decision", "authorization_proof_verification", "evidence_record",
              "credential_handoff_summary")
_INSTANTS = ("started_at", "finished_at", "last_heartbeat")
_KINDS = {"manual": Trigger.MANUAL.value, "chain": Trigger.CHAIN.value, "retry": Trigger.RETRY.value}


def instant(value: Any) -> datetime | None:
    """The peer's text instant as aware UTC; None for NULL or what is not an instant."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def job_input(row: Mapping[str, Any]) -> dict[str, Any]:
    """The spec input of a peer job row: the row itself (the flat dialect), with its JavaScript condition
    translated and a legacy shell row (``shellCommand`` on an isolated target) moved to ``shell``."""
    data = {k: v for k, v in row.items() if k not in ("next_run_at", "schedule_kind") or v is not None}
    try:
        data["trigger_condition"] = jsregex.condition_from_javascript(row.get("trigger_condition"))
    except jsregex.Untranslatable as why:
        raise SpecError(f"trigger_condition: the JavaScript regex has no equivalent here ({why}); rewrite it as "
                        "a Python regex", field="trigger_condition") from None
    if data.get("payload_kind") == "shellCommand" and data.get("session_target") != "shell":
        data["session_target"] = "shell"
    return data


def job_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """The peer's bookkeeping of a job, kept as it was (when it last ran, how, how many errors in a row)."""
    state = {k: row[k] for k in _STATE if row.get(k) is not None}
    for key in ("last_run_at", "created_at", "updated_at"):
        if key in state:
            state[key] = instant(state[key])
    return {k: v for k, v in state.items() if v is not None}


def run_columns(row: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """A peer run row as clawsched's run columns (``kinds``: the peer's dispatch id -> its kind)."""
    run = {k: row.get(k) for k in _RUN_KEPT}
    run.update({k: instant(run[k]) for k in _INSTANTS})
    run["id"], run["job_id"] = str(row["id"]), str(row["job_id"])
    run["created_at"] = run["started_at"] or instant(row.get("dispatched_at")) or datetime(1970, 1, 1, tzinfo=UTC)
    run["dispatched_at"] = instant(row.get("dispatched_at"))
    run["shell_timed_out"] = bool(row.get("shell_timed_out"))
    run["retry_count"] = int(row.get("retry_count") or 0)
    if run["retry_of"] and run["triggered_by_run"] == run["retry_of"]:
        run["triggered_by_run"] = None  # the peer's retry names its failed run twice; clawsched, as retry_of
    run["trigger"] = _trigger(row, run, kinds)
    _status(run)
    run["finalized_at"] = run["finished_at"]  # history: nothing of its post-run pipeline is left to do
    extra = {k: _maybe_json(row[k]) for k in _RUN_EXTRA if row.get(k) not in (None, "")}
    if kind := kinds.get(str(row.get("dispatch_queue_id"))):
        extra["dispatch_kind"] = kind
    run["trigger_context"] = {"openclaw_scheduler": extra} if extra else None
    return run


def _trigger(row: Mapping[str, Any], run: Mapping[str, Any], kinds: Mapping[str, str]) -> str:
    if run["retry_of"]:
        return Trigger.RETRY.value
    if run["triggered_by_run"]:
        return Trigger.CHAIN.value
    return _KINDS.get(kinds.get(str(row.get("dispatch_queue_id")), ""), Trigger.SCHEDULE.value)


def _status(run: dict[str, Any]) -> None:
    """The peer's statuses that mean something else here, made truthful (see the module docstring)."""
    status = run["status"]
    if status in ("running", "pending"):
        run["status"] = "crashed"
        run["error_message"] = run["error_message"] or f"{status} in openclaw-scheduler when it was imported"
        run["finished_at"] = run["finished_at"] or run["last_heartbeat"] or run["started_at"]
    elif status == "approved" and run["finished_at"] is not None:
        run["status"] = "skipped"
        run["skip_reason"] = "approval placeholder (openclaw-scheduler): approved; the work ran as its own run"
    elif status == "approved":
        run["status"] = "pending"
        run["not_before"] = run["created_at"]
    if run["status"] in ("awaiting_approval", "pending"):
        run["finished_at"] = None


def approval_expiry(requested_at: datetime | None, timeout_s: Any) -> datetime | None:
    if requested_at is None:
        return None
    return requested_at + timedelta(seconds=int(timeout_s or 3600))


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
