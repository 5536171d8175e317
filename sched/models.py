"""The SQL schema: the system of record for every fact a user can ask about.

Instants are stored as naive UTC (``UTCDateTime`` converts at the boundary) so SQLite and PostgreSQL
compare them the same way. Ids are text (uuid4 hex) so they can come from other systems unchanged.
Columns follow openclaw-scheduler's schema (seed 004) so its users find every field they know.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (identical on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} reached the store; instants must carry a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite text written by raw SQL
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # schedule
    schedule_kind: Mapped[str] = mapped_column(String(16), default="cron")
    schedule_cron: Mapped[str | None] = mapped_column(String(128))
    schedule_at: Mapped[datetime | None]
    schedule_every_ms: Mapped[int | None] = mapped_column(Integer)
    schedule_anchor: Mapped[datetime | None]
    schedule_tz: Mapped[str] = mapped_column(String(128), default="UTC")
    stagger_ms: Mapped[int] = mapped_column(Integer, default=0)
    # what runs
    session_target: Mapped[str] = mapped_column(String(16), default="isolated")
    session_id: Mapped[str | None] = mapped_column(String(256))
    agent_id: Mapped[str] = mapped_column(String(128), default="main")
    payload_kind: Mapped[str] = mapped_column(String(32), default="agentTurn")
    payload_message: Mapped[str] = mapped_column(Text)
    payload_model: Mapped[str | None] = mapped_column(String(256))
    payload_thinking: Mapped[str | None] = mapped_column(String(64))
    payload_timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    wake_mode: Mapped[str] = mapped_column(String(32), default="now")
    execution_intent: Mapped[str] = mapped_column(String(16), default="execute")
    execution_read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    env: Mapped[dict[str, Any] | None]
    cwd: Mapped[str | None] = mapped_column(String(1024))
    # execution policy
    overlap_policy: Mapped[str] = mapped_column(String(16), default="skip")
    run_timeout_ms: Mapped[int] = mapped_column(Integer, default=300_000)
    max_queued_dispatches: Mapped[int] = mapped_column(Integer, default=25)
    max_pending_approvals: Mapped[int] = mapped_column(Integer, default=10)
    max_trigger_fanout: Mapped[int] = mapped_column(Integer, default=25)
    queued_count: Mapped[int] = mapped_column(Integer, default=0)
    output_store_limit_bytes: Mapped[int] = mapped_column(Integer, default=65536)
    output_excerpt_limit_bytes: Mapped[int] = mapped_column(Integer, default=2000)
    output_summary_limit_bytes: Mapped[int] = mapped_column(Integer, default=5000)
    output_offload_threshold_bytes: Mapped[int] = mapped_column(Integer, default=65536)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    resource_pool: Mapped[str | None] = mapped_column(String(128))
    auth_profile: Mapped[str | None] = mapped_column(String(256))
    delivery_guarantee: Mapped[str] = mapped_column(String(16), default="at-most-once")
    # delivery
    delivery_mode: Mapped[str] = mapped_column(String(32), default="none")
    delivery_channel: Mapped[str | None] = mapped_column(String(64))
    delivery_to: Mapped[str | None] = mapped_column(String(1024))
    delivery_secret: Mapped[str | None] = mapped_column(String(256))
    delivery_opt_out_reason: Mapped[str | None] = mapped_column(String(512))
    failure_alert: Mapped[dict[str, Any] | None]
    origin: Mapped[str | None] = mapped_column(String(256))
    delete_after_run: Mapped[bool] = mapped_column(Boolean, default=False)
    ttl_hours: Mapped[int | None] = mapped_column(Integer)
    # chains and gates
    parent_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    trigger_on: Mapped[str | None] = mapped_column(String(16))
    trigger_delay_s: Mapped[int] = mapped_column(Integer, default=0)
    trigger_condition: Mapped[str | None] = mapped_column(String(1024))
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_timeout_s: Mapped[int] = mapped_column(Integer, default=3600)
    approval_auto: Mapped[str] = mapped_column(String(16), default="reject")
    # agent context
    context_retrieval: Mapped[str] = mapped_column(String(16), default="none")
    context_retrieval_limit: Mapped[int] = mapped_column(Integer, default=5)
    preferred_session_key: Mapped[str | None] = mapped_column(String(512))
    # watchdogs (sub-agent dispatch)
    job_type: Mapped[str] = mapped_column(String(16), default="standard")
    watchdog_target_label: Mapped[str | None] = mapped_column(String(256))
    watchdog_check_cmd: Mapped[str | None] = mapped_column(Text)
    watchdog_timeout_min: Mapped[int | None] = mapped_column(Integer)
    watchdog_alert_channel: Mapped[str | None] = mapped_column(String(64))
    watchdog_alert_target: Mapped[str | None] = mapped_column(String(256))
    watchdog_self_destruct: Mapped[bool] = mapped_column(Boolean, default=True)
    watchdog_started_at: Mapped[datetime | None]
    # scheduling state
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(32))
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # The beat's due query: enabled jobs ordered by next fire. Its cost follows what is due.
        Index("ix_jobs_due", "enabled", "next_run_at"),
        Index("ix_jobs_resource_pool", "resource_pool"),
    )


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(String(64), ForeignKey("jobs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    scheduled_for: Mapped[datetime | None]  # the schedule instant this run fires (unique per job)
    not_before: Mapped[datetime | None]  # a pending run is dispatched by beat once this has passed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    finalized_at: Mapped[datetime | None]  # post-run pipeline (chains, retries, delivery) completed
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_heartbeat: Mapped[datetime | None]
    hostname: Mapped[str | None] = mapped_column(String(256))
    pid: Mapped[int | None] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(256))
    session_key: Mapped[str | None] = mapped_column(String(512))
    session_id: Mapped[str | None] = mapped_column(String(256))
    summary: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    usage: Mapped[dict[str, Any] | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    skip_reason: Mapped[str | None] = mapped_column(String(512))
    shell_exit_code: Mapped[int | None] = mapped_column(Integer)
    shell_signal: Mapped[str | None] = mapped_column(String(32))
    shell_timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    shell_stdout: Mapped[str | None] = mapped_column(Text)
    shell_stderr: Mapped[str | None] = mapped_column(Text)
    shell_stdout_path: Mapped[str | None] = mapped_column(String(1024))
    shell_stderr_path: Mapped[str | None] = mapped_column(String(1024))
    shell_stdout_bytes: Mapped[int | None] = mapped_column(Integer)
    shell_stderr_bytes: Mapped[int | None] = mapped_column(Integer)
    run_timeout_ms: Mapped[int | None] = mapped_column(Integer)
    triggered_by_run: Mapped[str | None] = mapped_column(String(64), index=True)
    retry_of: Mapped[str | None] = mapped_column(String(64), unique=True)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    replay_of: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(256))
    trigger_context: Mapped[dict[str, Any] | None]
    chain_depth: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # One run per job per scheduled instant: a second beat's claim of the same fire fails here.
        UniqueConstraint("job_id", "scheduled_for", name="uq_runs_job_scheduled"),
        # One child run per (parent run, child job): a replayed chain callback creates nothing twice.
        UniqueConstraint("triggered_by_run", "job_id", name="uq_runs_parent_child"),
        Index("ix_runs_job_history", "job_id", "created_at"),
        Index("ix_runs_status_due", "status", "not_before"),
    )


class Approval(Base):
    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(String(64), ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_approvals_status_expires", "status", "expires_at"),)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="idle")
    last_seen_at: Mapped[datetime | None]
    session_key: Mapped[str | None] = mapped_column(String(512))
    capabilities: Mapped[list[Any] | None]
    delivery_channel: Mapped[str | None] = mapped_column(String(64))
    delivery_to: Mapped[str | None] = mapped_column(String(256))
    brand_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    from_agent: Mapped[str] = mapped_column(String(128))
    to_agent: Mapped[str] = mapped_column(String(128))
    reply_to: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="text")
    subject: Mapped[str | None] = mapped_column(String(512))
    body: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_messages_inbox", "to_agent", "status", "priority", "created_at"),)


class MessageReceipt(Base):
    __tablename__ = "message_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(16))  # delivered | read | acked | expired
    actor: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskTracker(Base):
    __tablename__ = "task_tracker"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="active")
    timeout_s: Mapped[int] = mapped_column(Integer, default=1800)
    delivery_channel: Mapped[str | None] = mapped_column(String(64))
    delivery_to: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(Text)
    summary_delivered_at: Mapped[datetime | None]


class TaskTrackerAgent(Base):
    __tablename__ = "task_tracker_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tracker_id: Mapped[str] = mapped_column(String(64), ForeignKey("task_tracker.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    session_key: Mapped[str | None] = mapped_column(String(512))
    last_heartbeat: Mapped[datetime | None]
    message: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("tracker_id", "label", name="uq_task_tracker_agents_label"),)


class IdempotencyEntry(Base):
    __tablename__ = "idempotency_ledger"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    result_hash: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


class DeliveryAlias(Base):
    __tablename__ = "delivery_aliases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One row per (run, destination): a replayed callback finds it and never posts twice."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    run_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # announce | webhook | failure_alert | tracker | dispatch
    target: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("run_id", "kind", "target", name="uq_deliveries_run_kind_target"),)


class Dispatch(Base):
    """A sub-agent session started by ``clawsched enqueue``, tracked by its label."""

    __tablename__ = "dispatches"

    label: Mapped[str] = mapped_column(String(256), primary_key=True)
    session_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="running")
    mode: Mapped[str] = mapped_column(String(16), default="fresh")
    message: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(256))
    thinking: Mapped[str | None] = mapped_column(String(32))
    deliver_to: Mapped[str | None] = mapped_column(String(256))
    delivery_mode: Mapped[str] = mapped_column(String(32), default="announce")
    timeout_s: Mapped[int] = mapped_column(Integer, default=300)
    result: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    watcher_job_id: Mapped[str | None] = mapped_column(String(64))
    watchdog_job_id: Mapped[str | None] = mapped_column(String(64))
    spawned_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    # migration 0003_agents: what ``clawsched enqueue`` needs to follow a dispatch to its delivery
    job_id: Mapped[str | None] = mapped_column(String(64))  # the job whose run is the session's turn
    run_id: Mapped[str | None] = mapped_column(String(64))  # that run: the completion delivery keys on it
    channel: Mapped[str | None] = mapped_column(String(64))  # channel of deliver_to
    monitor: Mapped[bool] = mapped_column(Boolean, default=True)  # the watchdog is armed
    watchdog_after_s: Mapped[int] = mapped_column(Integer, default=3600)
    alerted_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


# Core tables, for the few hot-path statements that skip the ORM session (one per run or per beat).
RUNS: Table = cast(Table, Run.__table__)
JOBS: Table = cast(Table, Job.__table__)


def row_dict(obj: Any, model: type[Base]) -> dict[str, Any]:
    """The columns of ``obj`` (an ORM object or a Core row of ``model``) as JSON-ready data (UTC ``...Z``)."""
    out: dict[str, Any] = {}
    for column in model.__table__.columns:
        value = getattr(obj, column.key)
        out[column.key] = value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
    return out
