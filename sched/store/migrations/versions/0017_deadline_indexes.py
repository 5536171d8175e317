"""Jobs with a start deadline (``schedule_to_start_s``, ``starting_deadline_s``) are found by an index
that holds only them, so the deadline pass costs what it checks, not the jobs defined or the runs queued.

Revision ID: 0017_deadline_indexes
Revises: 0016_budgets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_deadline_indexes"
down_revision = "0016_budgets"
branch_labels = None
depends_on = None

SPARSE = (
    ("ix_jobs_schedule_to_start_s", "schedule_to_start_s"),
    ("ix_jobs_starting_deadline_s", "starting_deadline_s"),
)


def upgrade() -> None:
    for name, column in SPARSE:
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "jobs", [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _ in SPARSE:
        op.drop_index(name, table_name="jobs")
