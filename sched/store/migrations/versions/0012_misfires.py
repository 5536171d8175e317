"""A job's misfire policy: ``catchup`` (latest, all, none), ``catchup_window_s``, ``starting_deadline_s`` and
``schedule_to_start_s`` (docs/scheduling.md). Runs need no change: ``missed`` is one more value of the
``status`` text column, and its reason goes in ``skip_reason``.

Revision ID: 0012_misfires
Revises: 0011_queues
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_misfires"
down_revision = "0011_queues"
branch_labels = None
depends_on = None

COLUMNS = ("catchup_window_s", "starting_deadline_s", "schedule_to_start_s")


def upgrade() -> None:
    # plain ADD COLUMNs: a batch (table copy) on SQLite would drop what hangs on the table
    op.add_column("jobs", sa.Column("catchup", sa.String(16), nullable=False, server_default="latest"))
    for name in COLUMNS:
        op.add_column("jobs", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    for name in (*COLUMNS, "catchup"):
        op.drop_column("jobs", name)
