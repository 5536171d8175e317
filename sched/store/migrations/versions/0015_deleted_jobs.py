"""Deleting a job keeps its history: ``jobs.deleted_at`` marks a deleted job whose row stays (disabled,
unscheduled, detached from its parent) so its runs keep their job's id and name; ``jobs delete --purge``
removes both as before (docs/cli.md).

Revision ID: 0015_deleted_jobs
Revises: 0014_audit_pause
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_deleted_jobs"
down_revision = "0014_audit_pause"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch (table copy) on SQLite would drop what hangs on the table
    op.add_column("jobs", sa.Column("deleted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "deleted_at")
