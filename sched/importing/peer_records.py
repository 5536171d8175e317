"""The peer's rows beside a job's runs in clawsched's terms: approvals, the idempotency ledger, aliases,
agents and messages. Pure, like ``peer_rows``; what has no column here is kept in the row's JSON
(``metadata`` of a message), never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from clawsched.sched.importing.peer_rows import approval_expiry, instant
from clawsched.sched.store.peer_scheduler_db import PeerFile

_APPROVAL_STATUS = {"pending": "pending", "approved": "approved", "dispatched": "approved", "rejected": "rejected",
                    "timed_out": "expired"}
_MESSAGE_KEPT = ("id", "from_agent", "to_agent", "reply_to", "kind", "subject", "body", "priority", "channel",
                 "owner", "status", "job_id", "run_id")
_MESSAGE_EXTRA = ("team_id", "member_id", "task_id", "delivery_to", "ack_required", "ack_at", "delivery_attempts",
                  "last_error", "team_mapped_at")


def untangle(runs: list[dict[str, Any]]) -> None:
    """One run per (parent run, job) and per retried run, as clawsched's keys require.

    The peer gives an approval's placeholder run and the run that did the work the same parent run; the
    work keeps the link (it is what ``runs tree`` shows), the placeholder keeps it in its trigger context.
    """
    seen: dict[str, set[str]] = {"triggered_by_run": set(), "retry_of": set(), "replay_of": set()}
    for run in reversed(runs):
        for key, taken in seen.items():
            value = run.get(key)
            if value and value in taken:
                context = run["trigger_context"] = dict(run.get("trigger_context") or {})
                context.setdefault("openclaw_scheduler", {})[key] = value
                run[key] = None
            elif value:
                taken.add(value)


def approvals(rows: list[dict[str, Any]], runs: list[dict[str, Any]], timeout_s: Any) -> list[dict[str, Any]]:
    """The job's approvals on runs that are here; an approved gate not yet dispatched leaves its run
    ``pending``, as clawsched's own approve does (the work then runs here)."""
    by_id = {r["id"]: r for r in runs}
    out, gated = [], set()
    for row in rows:
        run = by_id.get(str(row.get("run_id")))
        if run is None or run["id"] in gated:
            continue
        gated.add(run["id"])
        status = _APPROVAL_STATUS.get(str(row.get("status")), "expired")
        requested = instant(row.get("requested_at")) or run["created_at"]
        if status == "approved" and run["status"] == "awaiting_approval":
            run.update(status="pending", not_before=instant(row.get("resolved_at")) or requested)
        out.append({"id": str(row["id"]), "job_id": str(row["job_id"]), "run_id": run["id"], "status": status,
                    "requested_at": requested, "expires_at": approval_expiry(requested, timeout_s),
                    "resolved_at": instant(row.get("resolved_at")), "resolved_by": row.get("resolved_by"),
                    "reason": row.get("notes")})
    return out


def ledger(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": str(r["key"]), "job_id": r.get("job_id"), "run_id": r.get("run_id"),
             "status": r.get("status") or "claimed", "result_hash": r.get("result_hash"),
             "claimed_at": instant(r.get("claimed_at")), "expires_at": instant(r.get("expires_at"))} for r in rows]


def records(peer: PeerFile, job_ids: set[str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Aliases, agents and messages, each kind as one batch of clawsched rows."""
    yield "delivery_aliases", [
        {"name": str(r["alias"]), "channel": r["channel"], "target": r["target"], "description": r.get("description"),
         "created_at": instant(r.get("created_at"))} for r in peer.rows("delivery_aliases")]
    yield "agents", [
        {"id": str(r["id"]), "name": r.get("name"), "status": r.get("status") or "idle",
         "last_seen_at": instant(r.get("last_seen_at")), "session_key": r.get("session_key"),
         "capabilities": _json(r.get("capabilities")), "delivery_channel": r.get("delivery_channel"),
         "delivery_to": r.get("delivery_to"), "brand_name": r.get("brand_name"),
         "created_at": instant(r.get("created_at"))} for r in peer.rows("agents")]
    yield "messages", [_message(r) for r in peer.rows("messages", order="created_at, rowid")]


def _message(row: dict[str, Any]) -> dict[str, Any]:
    message = {k: row.get(k) for k in _MESSAGE_KEPT}
    message["id"] = str(row["id"])
    message["priority"] = int(row.get("priority") or 0)
    for key in ("delivered_at", "read_at", "expires_at", "created_at"):
        message[key] = instant(row.get(key))
    metadata = _json(row.get("metadata"))
    extra = {k: row[k] for k in _MESSAGE_EXTRA if row.get(k) not in (None, "", 0)}
    if extra:
        metadata = {**(metadata if isinstance(metadata, dict) else {"value": metadata} if metadata else {}),
                    "openclaw_scheduler": extra}
    message["metadata"] = metadata
    return message


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
