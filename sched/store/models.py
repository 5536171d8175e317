"""The ORM classes, each mapped onto its Core table in ``tables`` (one schema, one MetaData).

Services that load, change and flush whole records use these; the ``Mapped`` annotations are for the type
checker only (the columns are defined once in ``tables``). Readers that list rows use the tables alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, configure_mappers

from clawsched.sched.store.audit_log import JOB_AUDIT
from clawsched.sched.store.tables import (
    AGENTS,
    APPROVALS,
    DELIVERIES,
    DELIVERY_ALIASES,
    DISPATCHES,
    IDEMPOTENCY_LEDGER,
    JOBS,
    MESSAGE_RECEIPTS,
    MESSAGES,
    METADATA,
    NAMING,
    RUN_OUTPUT_CHUNKS,
    RUNS,
    TASK_TRACKER,
    TASK_TRACKER_AGENTS,
    UTCDateTime,
    new_id,
    row_dict,
    run_has_status,
    utcnow,
)

__all__ = [
    "JOBS", "NAMING", "RUNS", "Agent", "Approval", "Base", "Delivery", "DeliveryAlias", "Dispatch",
    "IdempotencyEntry", "Job", "JobAudit", "Message", "MessageReceipt", "Run", "RunOutputChunk", "TaskTracker",
    "TaskTrackerAgent", "UTCDateTime", "detached", "new_id", "row_dict", "run_has_status", "utcnow",
]

_Model = TypeVar("_Model", bound="Base")


class Base(DeclarativeBase):
    metadata = METADATA


def detached(cls: type[_Model], values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> _Model:
    """A transient ``cls`` holding a row's values, for readers that never add it to a session.

    ``cls(**values)`` fires an attribute event per column (about 60 for a job); the worker builds two
    such rows per run, and those events were a tenth of its CPU. This fills the instance the way the
    ORM's own loader does, straight into ``__dict__``; later attribute writes are instrumented as usual.
    """
    if _unconfigured:
        _configure()
    obj: _Model = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(values)
    return obj


_unconfigured = True


def _configure() -> None:
    """Set up the mappers' attributes, which ``cls(**values)`` would have done on first use."""
    global _unconfigured
    configure_mappers()
    _unconfigured = False


class Job(Base):
    __table__ = JOBS

    id: Mapped[str]
    name: Mapped[str]
    description: Mapped[str | None]
    enabled: Mapped[bool]
    schedule_kind: Mapped[str]
    schedule_cron: Mapped[str | None]
    schedule_at: Mapped[datetime | None]
    schedule_every_ms: Mapped[int | None]
    schedule_anchor: Mapped[datetime | None]
    schedule_tz: Mapped[str]
    stagger_ms: Mapped[int]
    session_target: Mapped[str]
    session_id: Mapped[str | None]
    agent_id: Mapped[str]
    payload_kind: Mapped[str]
    payload_message: Mapped[str]
    payload_model: Mapped[str | None]
    payload_thinking: Mapped[str | None]
    payload_timeout_seconds: Mapped[int | None]
    wake_mode: Mapped[str]
    execution_intent: Mapped[str]
    execution_read_only: Mapped[bool]
    env: Mapped[dict[str, Any] | None]
    cwd: Mapped[str | None]
    overlap_policy: Mapped[str]
    run_timeout_ms: Mapped[int]
    max_queued_dispatches: Mapped[int]
    max_pending_approvals: Mapped[int]
    max_trigger_fanout: Mapped[int]
    queued_count: Mapped[int]
    output_store_limit_bytes: Mapped[int]
    output_excerpt_limit_bytes: Mapped[int]
    output_summary_limit_bytes: Mapped[int]
    output_offload_threshold_bytes: Mapped[int]
    max_retries: Mapped[int]
    resource_pool: Mapped[str | None]
    pool_slots: Mapped[int | None]
    payload_scope: Mapped[str]
    concurrency_key: Mapped[str | None]
    concurrency_limit: Mapped[int | None]
    job_class: Mapped[str]
    governance: Mapped[dict[str, Any] | None]
    queue: Mapped[str | None]
    auth_profile: Mapped[str | None]
    delivery_guarantee: Mapped[str]
    catchup: Mapped[str]
    catchup_window_s: Mapped[int | None]
    starting_deadline_s: Mapped[int | None]
    schedule_to_start_s: Mapped[int | None]
    delivery_mode: Mapped[str]
    delivery_channel: Mapped[str | None]
    delivery_to: Mapped[str | None]
    delivery_secret: Mapped[str | None]
    delivery_opt_out_reason: Mapped[str | None]
    failure_alert: Mapped[dict[str, Any] | None]
    budget: Mapped[dict[str, Any] | None]
    origin: Mapped[str | None]
    delete_after_run: Mapped[bool]
    ttl_hours: Mapped[int | None]
    parent_id: Mapped[str | None]
    trigger_on: Mapped[str | None]
    trigger_delay_s: Mapped[int]
    trigger_condition: Mapped[str | None]
    approval_required: Mapped[bool]
    approval_timeout_s: Mapped[int]
    approval_auto: Mapped[str]
    context_retrieval: Mapped[str]
    context_retrieval_limit: Mapped[int]
    preferred_session_key: Mapped[str | None]
    job_type: Mapped[str]
    watchdog_target_label: Mapped[str | None]
    watchdog_check_cmd: Mapped[str | None]
    watchdog_timeout_min: Mapped[int | None]
    watchdog_alert_channel: Mapped[str | None]
    watchdog_alert_target: Mapped[str | None]
    watchdog_self_destruct: Mapped[bool]
    watchdog_started_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_by: Mapped[str | None]
    paused_reason: Mapped[str | None]
    paused_until: Mapped[datetime | None]
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None]
    consecutive_errors: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class JobAudit(Base):
    __table__ = JOB_AUDIT

    id: Mapped[int]
    job_id: Mapped[str]
    action: Mapped[str]
    actor: Mapped[str]
    source: Mapped[str]
    at: Mapped[datetime]
    changes: Mapped[dict[str, Any] | None]
    note: Mapped[str | None]


class Run(Base):
    __table__ = RUNS

    id: Mapped[str]
    job_id: Mapped[str]
    status: Mapped[str]
    trigger: Mapped[str]
    scheduled_for: Mapped[datetime | None]
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    finalized_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None]
    last_heartbeat: Mapped[datetime | None]
    hostname: Mapped[str | None]
    pid: Mapped[int | None]
    worker_id: Mapped[str | None]
    queue: Mapped[str | None]
    session_key: Mapped[str | None]
    session_id: Mapped[str | None]
    summary: Mapped[str | None]
    reply: Mapped[str | None]
    usage: Mapped[dict[str, Any] | None]
    error_message: Mapped[str | None]
    skip_reason: Mapped[str | None]
    shell_exit_code: Mapped[int | None]
    shell_signal: Mapped[str | None]
    shell_timed_out: Mapped[bool]
    shell_stdout: Mapped[str | None]
    shell_stderr: Mapped[str | None]
    shell_stdout_path: Mapped[str | None]
    shell_stderr_path: Mapped[str | None]
    shell_stdout_bytes: Mapped[int | None]
    shell_stderr_bytes: Mapped[int | None]
    run_timeout_ms: Mapped[int | None]
    triggered_by_run: Mapped[str | None]
    retry_of: Mapped[str | None]
    retry_count: Mapped[int]
    replay_of: Mapped[str | None]
    idempotency_key: Mapped[str | None]
    trigger_context: Mapped[dict[str, Any] | None]
    chain_depth: Mapped[int]
    no_overlap: Mapped[bool]
    pipeline_attempts: Mapped[int]


class RunOutputChunk(Base):
    """A megabyte of a run's offloaded stream (``store.output_chunks`` reads and writes them)."""

    __table__ = RUN_OUTPUT_CHUNKS

    run_id: Mapped[str]
    stream: Mapped[str]
    seq: Mapped[int]
    data: Mapped[bytes]


class Approval(Base):
    __table__ = APPROVALS

    id: Mapped[str]
    job_id: Mapped[str]
    run_id: Mapped[str]
    status: Mapped[str]
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None]
    reason: Mapped[str | None]


class Agent(Base):
    __table__ = AGENTS

    id: Mapped[str]
    name: Mapped[str | None]
    status: Mapped[str]
    last_seen_at: Mapped[datetime | None]
    session_key: Mapped[str | None]
    capabilities: Mapped[list[Any] | None]
    delivery_channel: Mapped[str | None]
    delivery_to: Mapped[str | None]
    brand_name: Mapped[str | None]
    created_at: Mapped[datetime]


class Message(Base):
    __table__ = MESSAGES

    id: Mapped[str]
    from_agent: Mapped[str]
    to_agent: Mapped[str]
    reply_to: Mapped[str | None]
    kind: Mapped[str]
    subject: Mapped[str | None]
    body: Mapped[str]
    # the column is named `metadata`, which declarative classes reserve for the MetaData
    metadata_: Mapped[dict[str, Any] | None] = column_property(MESSAGES.c.metadata)
    priority: Mapped[int]
    channel: Mapped[str | None]
    owner: Mapped[str | None]
    status: Mapped[str]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    job_id: Mapped[str | None]
    run_id: Mapped[str | None]


class MessageReceipt(Base):
    __table__ = MESSAGE_RECEIPTS

    id: Mapped[int]
    message_id: Mapped[str]
    agent_id: Mapped[str]
    event: Mapped[str]
    actor: Mapped[str | None]
    note: Mapped[str | None]
    created_at: Mapped[datetime]


class TaskTracker(Base):
    __table__ = TASK_TRACKER

    id: Mapped[str]
    name: Mapped[str]
    status: Mapped[str]
    timeout_s: Mapped[int]
    delivery_channel: Mapped[str | None]
    delivery_to: Mapped[str | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    summary: Mapped[str | None]
    summary_delivered_at: Mapped[datetime | None]


class TaskTrackerAgent(Base):
    __table__ = TASK_TRACKER_AGENTS

    id: Mapped[int]
    tracker_id: Mapped[str]
    label: Mapped[str]
    status: Mapped[str]
    session_key: Mapped[str | None]
    last_heartbeat: Mapped[datetime | None]
    message: Mapped[str | None]
    finished_at: Mapped[datetime | None]


class IdempotencyEntry(Base):
    __table__ = IDEMPOTENCY_LEDGER

    key: Mapped[str]
    job_id: Mapped[str | None]
    run_id: Mapped[str | None]
    status: Mapped[str]
    result_hash: Mapped[str | None]
    claimed_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class DeliveryAlias(Base):
    __table__ = DELIVERY_ALIASES

    name: Mapped[str]
    channel: Mapped[str]
    target: Mapped[str]
    description: Mapped[str | None]
    created_at: Mapped[datetime]


class Delivery(Base):
    """One row per (run, destination): a replayed callback finds it and never posts twice."""

    __table__ = DELIVERIES

    id: Mapped[str]
    run_id: Mapped[str | None]
    kind: Mapped[str]
    target: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    error: Mapped[str | None]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Dispatch(Base):
    """A sub-agent session started by ``clawsched enqueue``, tracked by its label."""

    __table__ = DISPATCHES

    label: Mapped[str]
    session_key: Mapped[str]
    status: Mapped[str]
    mode: Mapped[str]
    message: Mapped[str | None]
    model: Mapped[str | None]
    thinking: Mapped[str | None]
    deliver_to: Mapped[str | None]
    delivery_mode: Mapped[str]
    timeout_s: Mapped[int]
    result: Mapped[str | None]
    summary: Mapped[str | None]
    watcher_job_id: Mapped[str | None]
    watchdog_job_id: Mapped[str | None]
    spawned_at: Mapped[datetime]
    last_activity_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    job_id: Mapped[str | None]
    run_id: Mapped[str | None]
    channel: Mapped[str | None]
    monitor: Mapped[bool]
    watchdog_after_s: Mapped[int]
    alerted_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
