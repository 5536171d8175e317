"""The job audit log and pause with a note (issue 17, items 3 and 4).

``job_audit`` records every change to a job with its actor, instant and source; it has no foreign key
to ``jobs`` so a deleted job's history outlives it, and is pruned with the run retention. ``jobs`` gains
the pause columns (who, why, since when, until when).

Revision ID: 0014_audit_pause
Revises: 0013_pool_slots
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_audit_pause"
down_revision = "0013_pool_slots"
branch_labels = None
depends_on = None


def _job_columns() -> tuple[sa.Column[object], ...]:
    """Fresh Column objects on each call: a Column can belong to one table only."""
    return (
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_by", sa.String(length=256), nullable=True),
        sa.Column("paused_reason", sa.String(length=512), nullable=True),
        sa.Column("paused_until", sa.DateTime(), nullable=True),
    )


def upgrade() -> None:
    op.create_table(
        "job_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_audit")),
    )
    op.create_index("ix_job_audit_job", "job_audit", ["job_id", "at"])
    op.create_index("ix_job_audit_at", "job_audit", ["at"])
    # plain ADD COLUMNs: nullable columns need no table copy on SQLite
    for column in _job_columns():
        op.add_column("jobs", column)


def downgrade() -> None:
    for column in _job_columns():
        op.drop_column("jobs", column.name)
    op.drop_index("ix_job_audit_at", table_name="job_audit")
    op.drop_index("ix_job_audit_job", table_name="job_audit")
    op.drop_table("job_audit")
