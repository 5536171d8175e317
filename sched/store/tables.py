"""The SQL schema as Core tables: the system of record for every fact a user can ask about.

Core, not the ORM, so a read that only lists rows (``clawsched jobs list``) imports no ``sqlalchemy.orm``;
``models`` maps its classes onto these same tables. Instants are stored as naive UTC (``UTCDateTime``
converts at the boundary) so SQLite and PostgreSQL compare them the same way. Ids are text (uuid4 hex) so
they can come from other systems unchanged. Columns follow openclaw-scheduler's schema (seed 004)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

# the shared column helpers are also importable from here, beside the tables that use them
from .columns import METADATA, NAMING, UTCDateTime, new_id, pause_columns, row_dict, sparse_index, utcnow  # noqa: F401

ONE_RUNNING = "status = 'running' AND no_overlap"
UNFINALIZED = "finalized_at IS NULL AND finished_at IS NOT NULL"

JOBS = Table(
    "jobs",
    METADATA,
    Column("id", String(64), primary_key=True, default=new_id),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("enabled", Boolean, default=True, nullable=False),
    # schedule
    Column("schedule_kind", String(16), default="cron", nullable=False),
    Column("schedule_cron", String(128)),
    Column("schedule_at", UTCDateTime()),
    Column("schedule_every_ms", Integer),
    Column("schedule_anchor", UTCDateTime()),
    Column("schedule_tz", String(128), default="UTC", nullable=False),
    Column("stagger_ms", Integer, default=0, nullable=False),
    # what runs
    Column("session_target", String(16), default="isolated", nullable=False),
    Column("session_id", String(256)),
    Column("agent_id", String(128), default="main", nullable=False),
    Column("payload_kind", String(32), default="agentTurn", nullable=False),
    Column("payload_message", Text, nullable=False),
    Column("payload_model", String(256)),
    Column("payload_thinking", String(64)),
    Column("payload_timeout_seconds", Integer),
    Column("wake_mode", String(32), default="now", nullable=False),
    Column("execution_intent", String(16), default="execute", nullable=False),
    Column("execution_read_only", Boolean, default=False, nullable=False),
    Column("env", JSON),
    Column("cwd", String(1024)),
    # execution policy
    Column("overlap_policy", String(16), default="skip", nullable=False),
    Column("run_timeout_ms", Integer, default=300_000, nullable=False),
    Column("max_queued_dispatches", Integer, default=25, nullable=False),
    Column("max_pending_approvals", Integer, default=10, nullable=False),
    Column("max_trigger_fanout", Integer, default=25, nullable=False),
    Column("queued_count", Integer, default=0, nullable=False),
    Column("output_store_limit_bytes", Integer, default=65536, nullable=False),
    Column("output_excerpt_limit_bytes", Integer, default=2000, nullable=False),
    Column("output_summary_limit_bytes", Integer, default=5000, nullable=False),
    Column("output_offload_threshold_bytes", Integer, default=65536, nullable=False),
    Column("max_retries", Integer, default=0, nullable=False),
    Column("resource_pool", String(128)),
    Column("queue", String(64)),  # the job's own run queue (rules/routing; migration 0011)
    Column("pool_slots", Integer),
    Column("concurrency_key", String(128)),
    Column("concurrency_limit", Integer),
    Column("auth_profile", String(256)),
    Column("delivery_guarantee", String(16), default="at-most-once", nullable=False),
    # misfires (docs/scheduling.md; migration 0012)
    Column("catchup", String(16), default="latest", nullable=False),
    Column("catchup_window_s", Integer),
    Column("starting_deadline_s", Integer),
    Column("schedule_to_start_s", Integer),
    # delivery
    Column("delivery_mode", String(32), default="none", nullable=False),
    Column("delivery_channel", String(64)),
    Column("delivery_to", String(1024)),
    Column("delivery_secret", String(256)),
    Column("delivery_opt_out_reason", String(512)),
    Column("failure_alert", JSON),
    Column("budget", JSON(none_as_null=True)),  # rules.budgets (migration 0016); None is SQL NULL (the gate)
    Column("origin", String(256)),
    Column("delete_after_run", Boolean, default=False, nullable=False),
    Column("ttl_hours", Integer),
    # chains and gates
    Column("parent_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE")),
    Column("trigger_on", String(16)),
    Column("trigger_delay_s", Integer, default=0, nullable=False),
    Column("trigger_condition", String(1024)),
    Column("approval_required", Boolean, default=False, nullable=False),
    Column("approval_timeout_s", Integer, default=3600, nullable=False),
    Column("approval_auto", String(16), default="reject", nullable=False),
    # agent context
    Column("context_retrieval", String(16), default="none", nullable=False),
    Column("context_retrieval_limit", Integer, default=5, nullable=False),
    Column("preferred_session_key", String(512)),
    Column("payload_scope", String(16), default="own", nullable=False),  # kept (migration 0012)
    Column("job_class", String(32), default="standard", nullable=False),  # kept (migration 0012)
    Column("governance", JSON),  # the peer's v0.2 identity/trust/contract fields, kept (0009)
    # watchdogs (sub-agent dispatch)
    Column("job_type", String(16), default="standard", nullable=False),
    Column("watchdog_target_label", String(256)),
    Column("watchdog_check_cmd", Text),
    Column("watchdog_timeout_min", Integer),
    Column("watchdog_alert_channel", String(64)),
    Column("watchdog_alert_target", String(256)),
    Column("watchdog_self_destruct", Boolean, default=True, nullable=False),
    Column("watchdog_started_at", UTCDateTime()),
    *pause_columns(),  # who paused, why, since and until when (``sched.pauses``; migration 0014)
    # scheduling state
    Column("next_run_at", UTCDateTime()),
    Column("last_run_at", UTCDateTime()),
    Column("last_status", String(32)),
    Column("consecutive_errors", Integer, default=0, nullable=False),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("updated_at", UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False),
    Column("deleted_at", UTCDateTime()),  # a deleted job's row stays for its runs (jobs.delete_job)
    Index("ix_jobs_due", "enabled", "next_run_at"),  # the beat's due query: its cost follows what is due
    sparse_index("ix_jobs_parent_id", "parent_id"),
    sparse_index("ix_jobs_resource_pool", "resource_pool"),
    sparse_index("ix_jobs_concurrency_key", "concurrency_key"),
    *(sparse_index(f"ix_jobs_{c}", c) for c in ("schedule_to_start_s", "starting_deadline_s")),  # deadlines (0017)
)


RUNS = Table(
    "runs",
    METADATA,
    Column("id", String(64), primary_key=True, default=new_id),
    Column("job_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(32), default="pending", nullable=False),
    Column("trigger", String(16), default="schedule", nullable=False),
    Column("scheduled_for", UTCDateTime()),  # the schedule instant this run fires (unique per job)
    Column("not_before", UTCDateTime()),  # a pending run is dispatched by beat once this has passed
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("dispatched_at", UTCDateTime()),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("finalized_at", UTCDateTime()),  # post-run pipeline (chains, retries, delivery) completed
    Column("duration_ms", Integer),
    Column("last_heartbeat", UTCDateTime()),
    Column("hostname", String(256)),
    Column("pid", Integer),
    Column("worker_id", String(256)),
    Column("queue", String(64)),  # the queue the worker took the run from (migration 0011)
    Column("session_key", String(512)),
    Column("session_id", String(256)),
    Column("summary", Text),
    Column("reply", Text),
    Column("usage", JSON),
    Column("error_message", Text),
    Column("skip_reason", String(512)),
    Column("shell_exit_code", Integer),
    Column("shell_signal", String(32)),
    Column("shell_timed_out", Boolean, default=False, nullable=False),
    Column("shell_stdout", Text),
    Column("shell_stderr", Text),
    Column("shell_stdout_path", String(1024)),
    Column("shell_stderr_path", String(1024)),
    Column("shell_stdout_bytes", Integer),
    Column("shell_stderr_bytes", Integer),
    Column("run_timeout_ms", Integer),
    Column("triggered_by_run", String(64)),
    Column("retry_of", String(64), unique=True),
    Column("retry_count", Integer, default=0, nullable=False),
    Column("replay_of", String(64), unique=True),
    Column("idempotency_key", String(256)),
    Column("trigger_context", JSON),
    Column("chain_depth", Integer, default=0, nullable=False),
    # Set when the run starts: its job's overlap_policy (skip, queue) forbids a second running run.
    Column("no_overlap", Boolean, default=False, nullable=False),
    # The reconciler's attempts at the run's post-run pipeline, counted before each one (migration 0008):
    # past ``finalize.MAX_PIPELINE_ATTEMPTS`` the run is quarantined, not retried on every pass forever.
    Column("pipeline_attempts", Integer, default=0, nullable=False),
    # One run per job per scheduled instant: a second beat's claim of the same fire fails here.
    UniqueConstraint("job_id", "scheduled_for", name="uq_runs_job_scheduled"),
    # One child run per (parent run, child job): a replayed chain callback creates nothing twice.
    UniqueConstraint("triggered_by_run", "job_id", name="uq_runs_parent_child"),
    Index("ix_runs_job_history", "job_id", "created_at"),
    Index("ix_runs_status_due", "status", "not_before"),
    sparse_index("ix_runs_triggered_by_run", "triggered_by_run"),
    # overlap_policy skip/queue in SQL: the start of a second running run of such a job fails here,
    # in the starting statement itself (runs.start; migration 0006).
    Index("uq_runs_one_running", "job_id", unique=True, sqlite_where=text(ONE_RUNNING),
          postgresql_where=text(ONE_RUNNING)),
    # Finished runs whose post-run pipeline has not run yet (maintenance's finalize_orphans; 0007).
    Index("ix_runs_unfinalized", "finished_at", sqlite_where=text(UNFINALIZED),
          postgresql_where=text(UNFINALIZED)),
)


def run_has_status(status: str) -> ColumnElement[bool]:
    """The status guard of a statement that finds its runs by id: ``status = ...``, written so that
    no index on ``status`` can serve it and the primary key is the only way in.

    With few or stale statistics (a new table, a burst of inserts before autovacuum has analysed it)
    PostgreSQL rates ``status = 'queued'`` as selective as ``id = ...`` and may walk every queued run of
    ``ix_runs_status_due``, filtering on the id: 1 999 rows removed to start one run with 2 000 queued,
    and a generic plan keeps that choice. ``status || ''`` is the same value, but not an indexed one.
    """
    return RUNS.c.status.op("||")(literal_column("''")) == status


APPROVALS = Table(
    "approvals",
    METADATA,
    Column("id", String(64), primary_key=True, default=new_id),
    Column("job_id", String(64), ForeignKey("jobs.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), unique=True, nullable=False),
    Column("status", String(16), default="pending", nullable=False),
    Column("requested_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
    Column("resolved_by", String(256)),
    Column("reason", Text),
    Index("ix_approvals_status_expires", "status", "expires_at"),
)


AGENTS = Table(
    "agents",
    METADATA,
    Column("id", String(128), primary_key=True),
    Column("name", String(256)),
    Column("status", String(16), default="idle", nullable=False),
    Column("last_seen_at", UTCDateTime()),
    Column("session_key", String(512)),
    Column("capabilities", JSON),
    Column("delivery_channel", String(64)),
    Column("delivery_to", String(256)),
    Column("brand_name", String(128)),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
)


MESSAGES = Table(
    "messages",
    METADATA,
    Column("id", String(64), primary_key=True, default=new_id),
    Column("from_agent", String(128), nullable=False),
    Column("to_agent", String(128), nullable=False),
    Column("reply_to", String(64)),
    Column("kind", String(32), default="text", nullable=False),
    Column("subject", String(512)),
    Column("body", Text, nullable=False),
    Column("metadata", JSON),
    Column("priority", Integer, default=0, nullable=False),
    Column("channel", String(64)),
    Column("owner", String(128)),
    Column("status", String(16), default="pending", nullable=False),
    Column("delivered_at", UTCDateTime()),
    Column("read_at", UTCDateTime()),
    Column("expires_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("job_id", String(64)),
    Column("run_id", String(64)),
    Index("ix_messages_inbox", "to_agent", "status", "priority", "created_at"),
    sparse_index("ix_messages_reply_to", "reply_to"),
)


MESSAGE_RECEIPTS = Table(
    "message_receipts",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), ForeignKey("messages.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("agent_id", String(128), nullable=False),
    Column("event", String(16), nullable=False),  # delivered | read | acked | expired
    Column("actor", String(128)),
    Column("note", Text),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
)


TASK_TRACKER = Table(
    "task_tracker",
    METADATA,
    Column("id", String(64), primary_key=True, default=new_id),
    Column("name", String(256), nullable=False),
    Column("status", String(16), default="active", nullable=False),
    Column("timeout_s", Integer, default=1800, nullable=False),
    Column("delivery_channel", String(64)),
    Column("delivery_to", String(256)),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("completed_at", UTCDateTime()),
    Column("summary", Text),
    Column("summary_delivered_at", UTCDateTime()),
)


TASK_TRACKER_AGENTS = Table(
    "task_tracker_agents",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tracker_id", String(64), ForeignKey("task_tracker.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(256), nullable=False),
    Column("status", String(16), default="pending", nullable=False),
    Column("session_key", String(512)),
    Column("last_heartbeat", UTCDateTime()),
    Column("message", Text),
    Column("finished_at", UTCDateTime()),
    UniqueConstraint("tracker_id", "label", name="uq_task_tracker_agents_label"),
)


IDEMPOTENCY_LEDGER = Table(
    "idempotency_ledger",
    METADATA,
    Column("key", String(256), primary_key=True),
    Column("job_id", String(64), index=True),
    Column("run_id", String(64)),
    Column("status", String(16), default="claimed", nullable=False),
    Column("result_hash", String(64)),
    Column("claimed_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("expires_at", UTCDateTime()),
)


DELIVERY_ALIASES = Table(
    "delivery_aliases",
    METADATA,
    Column("name", String(128), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("description", Text),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
)


# One row per (run, destination): a replayed callback finds it and never posts twice.
DELIVERIES = Table(
    "deliveries",
    METADATA,
    Column("id", String(64), primary_key=True, default=new_id),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE")),
    Column("kind", String(32), nullable=False),  # announce | webhook | failure_alert | tracker | dispatch
    Column("target", String(1024), nullable=False),
    Column("status", String(16), default="pending", nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("error", Text),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("delivered_at", UTCDateTime()),
    UniqueConstraint("run_id", "kind", "target", name="uq_deliveries_run_kind_target"),
)


# A sub-agent session started by ``clawsched enqueue``, tracked by its label.
DISPATCHES = Table(
    "dispatches",
    METADATA,
    Column("label", String(256), primary_key=True),
    Column("session_key", String(512), nullable=False),
    Column("status", String(16), default="running", nullable=False),
    Column("mode", String(16), default="fresh", nullable=False),
    Column("message", Text),
    Column("model", String(256)),
    Column("thinking", String(32)),
    Column("deliver_to", String(256)),
    Column("delivery_mode", String(32), default="announce", nullable=False),
    Column("timeout_s", Integer, default=300, nullable=False),
    Column("result", Text),
    Column("summary", Text),
    Column("watcher_job_id", String(64)),
    Column("watchdog_job_id", String(64)),
    Column("spawned_at", UTCDateTime(), default=utcnow, nullable=False),
    Column("last_activity_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    # migration 0003_agents: what ``clawsched enqueue`` needs to follow a dispatch to its delivery
    Column("job_id", String(64)),  # the job whose run is the session's turn
    Column("run_id", String(64)),  # that run: the completion delivery keys on it
    Column("channel", String(64)),  # channel of deliver_to
    Column("monitor", Boolean, default=True, nullable=False),  # the watchdog is armed
    Column("watchdog_after_s", Integer, default=3600, nullable=False),
    Column("alerted_at", UTCDateTime()),
    Column("delivered_at", UTCDateTime()),
)


# Offloaded output (migration 0010): a stream past its job's offload threshold, a megabyte a row, so
# ``runs output`` reads it from any host; deleted with its run.
RUN_OUTPUT_CHUNKS = Table(
    "run_output_chunks", METADATA,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("stream", String(8), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

