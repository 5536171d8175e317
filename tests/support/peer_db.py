"""A ``scheduler.db`` of openclaw-scheduler's schema (version 23), built the way the peer writes one.

The tables and columns are the peer's (``../shared/research/peer-openclaw-scheduler.md`` and seed 004's
"Database Schema"): instants as SQLite text ``YYYY-MM-DD HH:MM:SS`` in UTC, booleans as 0/1, JSON as text.
``PeerDb`` inserts rows as the peer's own code leaves them (a child with the never-matching cron, an
approval's placeholder run, a retry whose ``triggered_by_run`` is the failed run), so the importer is
tested against what a migrating user's file holds, not against clawsched's idea of it.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

NEVER = "0 0 31 2 *"

_V02 = ("identity_principal", "identity_run_as", "identity_attestation", "identity_ref", "identity_subject_kind",
        "identity_subject_principal", "identity_trust_level", "identity_delegation_mode", "identity",
        "authorization_proof_ref", "authorization_proof", "authorization_ref", "authorization", "evidence_ref",
        "evidence", "contract_required_trust_level", "contract_trust_enforcement", "contract_sandbox",
        "contract_allowed_paths", "contract_network", "contract_audit", "child_credential_policy")

JOB_COLUMNS = """
id TEXT PRIMARY KEY, name TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,
schedule_kind TEXT NOT NULL DEFAULT 'cron', schedule_at TEXT, schedule_cron TEXT,
schedule_tz TEXT NOT NULL DEFAULT 'UTC', session_target TEXT NOT NULL DEFAULT 'isolated',
agent_id TEXT DEFAULT 'main', payload_kind TEXT NOT NULL, payload_message TEXT NOT NULL, payload_model TEXT,
payload_thinking TEXT, payload_timeout_seconds INTEGER DEFAULT 120,
execution_intent TEXT NOT NULL DEFAULT 'execute', execution_read_only INTEGER NOT NULL DEFAULT 0,
overlap_policy TEXT NOT NULL DEFAULT 'skip', run_timeout_ms INTEGER NOT NULL DEFAULT 300000,
max_queued_dispatches INTEGER NOT NULL DEFAULT 25, max_pending_approvals INTEGER NOT NULL DEFAULT 10,
max_trigger_fanout INTEGER NOT NULL DEFAULT 25, delivery_mode TEXT DEFAULT 'announce', delivery_channel TEXT,
delivery_to TEXT, created_at TEXT NOT NULL DEFAULT (datetime('now')),
updated_at TEXT NOT NULL DEFAULT (datetime('now')), delete_after_run INTEGER NOT NULL DEFAULT 0,
ttl_hours INTEGER, parent_id TEXT, trigger_on TEXT, trigger_delay_s INTEGER DEFAULT 0, trigger_condition TEXT,
max_retries INTEGER DEFAULT 0, queued_count INTEGER DEFAULT 0, payload_scope TEXT NOT NULL DEFAULT 'own',
resource_pool TEXT, delivery_guarantee TEXT DEFAULT 'at-most-once', job_class TEXT DEFAULT 'standard',
approval_required INTEGER DEFAULT 0, approval_timeout_s INTEGER DEFAULT 3600, approval_auto TEXT DEFAULT 'reject',
context_retrieval TEXT DEFAULT 'none', context_retrieval_limit INTEGER DEFAULT 5,
output_store_limit_bytes INTEGER NOT NULL DEFAULT 65536, output_excerpt_limit_bytes INTEGER NOT NULL DEFAULT 65536,
output_summary_limit_bytes INTEGER NOT NULL DEFAULT 65536,
output_offload_threshold_bytes INTEGER NOT NULL DEFAULT 65536, preferred_session_key TEXT, auth_profile TEXT,
delivery_opt_out_reason TEXT, origin TEXT, """ + ", ".join(f"{c} TEXT" for c in _V02) + """,
contract_max_cost_usd REAL, job_type TEXT NOT NULL DEFAULT 'standard', watchdog_target_label TEXT,
watchdog_check_cmd TEXT, watchdog_timeout_min INTEGER, watchdog_alert_channel TEXT, watchdog_alert_target TEXT,
watchdog_self_destruct INTEGER NOT NULL DEFAULT 1, watchdog_started_at TEXT, next_run_at TEXT, last_run_at TEXT,
last_status TEXT, consecutive_errors INTEGER NOT NULL DEFAULT 0,
CHECK (delivery_mode NOT IN ('announce', 'announce-always') OR (delivery_to IS NOT NULL AND delivery_to != ''))
"""

RUN_COLUMNS = """
id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
status TEXT NOT NULL DEFAULT 'pending', started_at TEXT NOT NULL DEFAULT (datetime('now')), finished_at TEXT,
duration_ms INTEGER, last_heartbeat TEXT NOT NULL DEFAULT (datetime('now')), session_key TEXT, session_id TEXT,
summary TEXT, error_message TEXT, shell_exit_code INTEGER, shell_signal TEXT,
shell_timed_out INTEGER NOT NULL DEFAULT 0, shell_stdout TEXT, shell_stderr TEXT, shell_stdout_path TEXT,
shell_stderr_path TEXT, shell_stdout_bytes INTEGER NOT NULL DEFAULT 0, shell_stderr_bytes INTEGER NOT NULL DEFAULT 0,
dispatched_at TEXT, run_timeout_ms INTEGER NOT NULL DEFAULT 300000, retry_count INTEGER DEFAULT 0, retry_of TEXT,
triggered_by_run TEXT, dispatch_queue_id TEXT, context_summary TEXT, replay_of TEXT, idempotency_key TEXT,
identity_resolved TEXT, trust_evaluation TEXT, authorization_decision TEXT,
authorization_proof_verification TEXT, evidence_record TEXT, credential_handoff_summary TEXT
"""

TABLES = {
    "jobs": JOB_COLUMNS,
    "runs": RUN_COLUMNS,
    "messages": """id TEXT PRIMARY KEY, from_agent TEXT NOT NULL, to_agent TEXT NOT NULL, team_id TEXT, member_id TEXT,
        task_id TEXT, reply_to TEXT, kind TEXT NOT NULL DEFAULT 'text', subject TEXT, body TEXT NOT NULL, metadata TEXT,
        priority INTEGER NOT NULL DEFAULT 0, channel TEXT, delivery_to TEXT, status TEXT NOT NULL DEFAULT 'pending',
        delivered_at TEXT, read_at TEXT, ack_required INTEGER NOT NULL DEFAULT 0, ack_at TEXT,
        delivery_attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, team_mapped_at TEXT, expires_at TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now')), job_id TEXT, run_id TEXT, owner TEXT""",
    "agents": """id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL DEFAULT 'idle', last_seen_at TEXT,
        session_key TEXT, capabilities TEXT, delivery_channel TEXT, delivery_to TEXT, brand_name TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))""",
    "delivery_aliases": """alias TEXT PRIMARY KEY, channel TEXT NOT NULL, target TEXT NOT NULL, description TEXT,
        created_at TEXT DEFAULT (datetime('now'))""",
    "approvals": """id TEXT PRIMARY KEY, job_id TEXT NOT NULL, run_id TEXT, dispatch_queue_id TEXT,
        status TEXT NOT NULL DEFAULT 'pending', requested_at TEXT NOT NULL DEFAULT (datetime('now')),
        resolved_at TEXT, resolved_by TEXT, notes TEXT""",
    "job_dispatch_queue": """id TEXT PRIMARY KEY, job_id TEXT NOT NULL, dispatch_kind TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', scheduled_for TEXT NOT NULL, source_run_id TEXT, retry_of_run_id TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now')), claimed_at TEXT, processed_at TEXT""",
    "idempotency_ledger": """key TEXT PRIMARY KEY, job_id TEXT NOT NULL, run_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'claimed', claimed_at TEXT NOT NULL DEFAULT (datetime('now')), released_at TEXT,
        result_hash TEXT, expires_at TEXT NOT NULL""",
    "schema_migrations": "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now'))",
}


def new_id() -> str:
    return str(uuid.uuid4())  # the peer's ids: randomUUID(), with dashes


class PeerDb:
    """A peer ``scheduler.db`` at ``path``; ``job``/``run``/``insert`` write rows as the peer does."""

    def __init__(self, path: Path, version: int = 23) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        for table, columns in TABLES.items():
            self.db.execute(f"CREATE TABLE {table} ({columns})")
        self.db.executemany("INSERT INTO schema_migrations (version) VALUES (?)", [(v,) for v in range(1, version + 1)])
        self.db.commit()

    def insert(self, table: str, **values: Any) -> dict[str, Any]:
        values = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in values.items()}
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        self.db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))
        self.db.commit()
        return values

    def job(self, name: str, **values: Any) -> str:
        """A job as the peer's createJob stores it (shell by default); children get the never-matching cron."""
        job_id = values.pop("id", new_id())
        row = {"id": job_id, "name": name, "session_target": "shell", "payload_kind": "shellCommand",
               "payload_message": "echo hi", "schedule_cron": NEVER if values.get("parent_id") else "*/5 * * * *",
               "delivery_mode": "none", "origin": None if values.get("parent_id") else "system",
               "next_run_at": None if values.get("parent_id") else "2026-12-01 10:05:00", **values}
        self.insert("jobs", **row)
        return job_id

    def run(self, job_id: str, status: str = "ok", **values: Any) -> str:
        run_id = values.pop("id", new_id())
        row = {"id": run_id, "job_id": job_id, "status": status, "started_at": "2026-12-01 10:00:00",
               "last_heartbeat": "2026-12-01 10:00:00", **values}
        if status not in ("running", "awaiting_approval", "pending"):
            row.setdefault("finished_at", "2026-12-01 10:00:01")
            row.setdefault("duration_ms", 1000)
        self.insert("runs", **row)
        return run_id

    def row(self, table: str, key: str, value: str) -> dict[str, Any]:
        """One row as ``SELECT *`` returns it: what a user copies from the peer's ``jobs get``."""
        self.db.row_factory = sqlite3.Row
        try:
            found = self.db.execute(f"SELECT * FROM {table} WHERE {key} = ?", (value,)).fetchone()
        finally:
            self.db.row_factory = None
        return dict(found)

    def close(self) -> None:
        self.db.close()
