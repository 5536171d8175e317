"""A job may have a budget (``jobs.budget``: ``{tokens_per_day, runs_per_hour}``, ``rules.budgets``).

Revision ID: 0016_budgets
Revises: 0015_deleted_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_budgets"
down_revision = "0015_deleted_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("budget", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "budget")
