"""initial schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22 01:54:15.635309
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("session_key", sa.String(length=512), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=True),
        sa.Column("delivery_channel", sa.String(length=64), nullable=True),
        sa.Column("delivery_to", sa.String(length=256), nullable=True),
        sa.Column("brand_name", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_table(
        "delivery_aliases",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_delivery_aliases")),
    )
    op.create_table(
        "dispatches",
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("session_key", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=256), nullable=True),
        sa.Column("thinking", sa.String(length=32), nullable=True),
        sa.Column("deliver_to", sa.String(length=256), nullable=True),
        sa.Column("delivery_mode", sa.String(length=32), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("watcher_job_id", sa.String(length=64), nullable=True),
        sa.Column("watchdog_job_id", sa.String(length=64), nullable=True),
        sa.Column("spawned_at", sa.DateTime(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("label", name=op.f("pk_dispatches")),
    )
    op.create_table(
        "idempotency_ledger",
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result_hash", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_ledger")),
    )
    with op.batch_alter_table("idempotency_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_ledger_job_id"), ["job_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("schedule_kind", sa.String(length=16), nullable=False),
        sa.Column("schedule_cron", sa.String(length=128), nullable=True),
        sa.Column("schedule_at", sa.DateTime(), nullable=True),
        sa.Column("schedule_every_ms", sa.Integer(), nullable=True),
        sa.Column("schedule_anchor", sa.DateTime(), nullable=True),
        sa.Column("schedule_tz", sa.String(length=128), nullable=False),
        sa.Column("stagger_ms", sa.Integer(), nullable=False),
        sa.Column("session_target", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("payload_kind", sa.String(length=32), nullable=False),
        sa.Column("payload_message", sa.Text(), nullable=False),
        sa.Column("payload_model", sa.String(length=256), nullable=True),
        sa.Column("payload_thinking", sa.String(length=64), nullable=True),
        sa.Column("payload_timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("wake_mode", sa.String(length=32), nullable=False),
        sa.Column("execution_intent", sa.String(length=16), nullable=False),
        sa.Column("execution_read_only", sa.Boolean(), nullable=False),
        sa.Column("env", sa.JSON(), nullable=True),
        sa.Column("cwd", sa.String(length=1024), nullable=True),
        sa.Column("overlap_policy", sa.String(length=16), nullable=False),
        sa.Column("run_timeout_ms", sa.Integer(), nullable=False),
        sa.Column("max_queued_dispatches", sa.Integer(), nullable=False),
        sa.Column("max_pending_approvals", sa.Integer(), nullable=False),
        sa.Column("max_trigger_fanout", sa.Integer(), nullable=False),
        sa.Column("queued_count", sa.Integer(), nullable=False),
        sa.Column("output_store_limit_bytes", sa.Integer(), nullable=False),
        sa.Column("output_excerpt_limit_bytes", sa.Integer(), nullable=False),
        sa.Column("output_summary_limit_bytes", sa.Integer(), nullable=False),
        sa.Column("output_offload_threshold_bytes", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("resource_pool", sa.String(length=128), nullable=True),
        sa.Column("auth_profile", sa.String(length=256), nullable=True),
        sa.Column("delivery_guarantee", sa.String(length=16), nullable=False),
        sa.Column("delivery_mode", sa.String(length=32), nullable=False),
        sa.Column("delivery_channel", sa.String(length=64), nullable=True),
        sa.Column("delivery_to", sa.String(length=1024), nullable=True),
        sa.Column("delivery_secret", sa.String(length=256), nullable=True),
        sa.Column("delivery_opt_out_reason", sa.String(length=512), nullable=True),
        sa.Column("failure_alert", sa.JSON(), nullable=True),
        sa.Column("origin", sa.String(length=256), nullable=True),
        sa.Column("delete_after_run", sa.Boolean(), nullable=False),
        sa.Column("ttl_hours", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("trigger_on", sa.String(length=16), nullable=True),
        sa.Column("trigger_delay_s", sa.Integer(), nullable=False),
        sa.Column("trigger_condition", sa.String(length=1024), nullable=True),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("approval_timeout_s", sa.Integer(), nullable=False),
        sa.Column("approval_auto", sa.String(length=16), nullable=False),
        sa.Column("context_retrieval", sa.String(length=16), nullable=False),
        sa.Column("context_retrieval_limit", sa.Integer(), nullable=False),
        sa.Column("preferred_session_key", sa.String(length=512), nullable=True),
        sa.Column("job_type", sa.String(length=16), nullable=False),
        sa.Column("watchdog_target_label", sa.String(length=256), nullable=True),
        sa.Column("watchdog_check_cmd", sa.Text(), nullable=True),
        sa.Column("watchdog_timeout_min", sa.Integer(), nullable=True),
        sa.Column("watchdog_alert_channel", sa.String(length=64), nullable=True),
        sa.Column("watchdog_alert_target", sa.String(length=256), nullable=True),
        sa.Column("watchdog_self_destruct", sa.Boolean(), nullable=False),
        sa.Column("watchdog_started_at", sa.DateTime(), nullable=True),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_status", sa.String(length=32), nullable=True),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["jobs.id"], name=op.f("fk_jobs_parent_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["enabled", "next_run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index("ix_jobs_resource_pool", ["resource_pool"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("from_agent", sa.String(length=128), nullable=False),
        sa.Column("to_agent", sa.String(length=128), nullable=False),
        sa.Column("reply_to", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_inbox", ["to_agent", "status", "priority", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_reply_to"), ["reply_to"], unique=False)

    op.create_table(
        "task_tracker",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("delivery_channel", sa.String(length=64), nullable=True),
        sa.Column("delivery_to", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("summary_delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_tracker")),
    )
    op.create_table(
        "message_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_receipts_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_receipts")),
    )
    with op.batch_alter_table("message_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_receipts_message_id"), ["message_id"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(), nullable=True),
        sa.Column("not_before", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("finalized_at", sa.DateTime(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=True),
        sa.Column("hostname", sa.String(length=256), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.String(length=256), nullable=True),
        sa.Column("session_key", sa.String(length=512), nullable=True),
        sa.Column("session_id", sa.String(length=256), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("skip_reason", sa.String(length=512), nullable=True),
        sa.Column("shell_exit_code", sa.Integer(), nullable=True),
        sa.Column("shell_signal", sa.String(length=32), nullable=True),
        sa.Column("shell_timed_out", sa.Boolean(), nullable=False),
        sa.Column("shell_stdout", sa.Text(), nullable=True),
        sa.Column("shell_stderr", sa.Text(), nullable=True),
        sa.Column("shell_stdout_path", sa.String(length=1024), nullable=True),
        sa.Column("shell_stderr_path", sa.String(length=1024), nullable=True),
        sa.Column("shell_stdout_bytes", sa.Integer(), nullable=True),
        sa.Column("shell_stderr_bytes", sa.Integer(), nullable=True),
        sa.Column("run_timeout_ms", sa.Integer(), nullable=True),
        sa.Column("triggered_by_run", sa.String(length=64), nullable=True),
        sa.Column("retry_of", sa.String(length=64), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("replay_of", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=256), nullable=True),
        sa.Column("trigger_context", sa.JSON(), nullable=True),
        sa.Column("chain_depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_runs_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("job_id", "scheduled_for", name="uq_runs_job_scheduled"),
        sa.UniqueConstraint("replay_of", name=op.f("uq_runs_replay_of")),
        sa.UniqueConstraint("retry_of", name=op.f("uq_runs_retry_of")),
        sa.UniqueConstraint("triggered_by_run", "job_id", name="uq_runs_parent_child"),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_job_history", ["job_id", "created_at"], unique=False)
        batch_op.create_index("ix_runs_status_due", ["status", "not_before"], unique=False)
        batch_op.create_index(batch_op.f("ix_runs_triggered_by_run"), ["triggered_by_run"], unique=False)

    op.create_table(
        "task_tracker_agents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tracker_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("session_key", sa.String(length=512), nullable=True),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tracker_id"],
            ["task_tracker.id"],
            name=op.f("fk_task_tracker_agents_tracker_id_task_tracker"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_tracker_agents")),
        sa.UniqueConstraint("tracker_id", "label", name="uq_task_tracker_agents_label"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_approvals_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_approvals_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("run_id", name=op.f("uq_approvals_run_id")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_job_id"), ["job_id"], unique=False)
        batch_op.create_index("ix_approvals_status_expires", ["status", "expires_at"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_deliveries_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("run_id", "kind", "target", name="uq_deliveries_run_kind_target"),
    )


def downgrade() -> None:

    op.drop_table("deliveries")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_approvals_status_expires")
        batch_op.drop_index(batch_op.f("ix_approvals_job_id"))

    op.drop_table("approvals")
    op.drop_table("task_tracker_agents")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_triggered_by_run"))
        batch_op.drop_index("ix_runs_status_due")
        batch_op.drop_index("ix_runs_job_history")

    op.drop_table("runs")
    with op.batch_alter_table("message_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_receipts_message_id"))

    op.drop_table("message_receipts")
    op.drop_table("task_tracker")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_reply_to"))
        batch_op.drop_index("ix_messages_inbox")

    op.drop_table("messages")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_resource_pool")
        batch_op.drop_index(batch_op.f("ix_jobs_parent_id"))
        batch_op.drop_index("ix_jobs_due")

    op.drop_table("jobs")
    with op.batch_alter_table("idempotency_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_ledger_job_id"))

    op.drop_table("idempotency_ledger")
    op.drop_table("dispatches")
    op.drop_table("delivery_aliases")
    op.drop_table("agents")
