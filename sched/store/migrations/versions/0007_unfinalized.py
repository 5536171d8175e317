"""Finished runs still waiting for their post-run pipeline, by an index that holds only them.

The maintenance pass that finalises runs whose pipeline never ran (``finalize_orphans``, every few
seconds) asked for ``finalized_at IS NULL`` among terminal runs. The only index on status holds every
run ever recorded, so each pass walked the whole history: O(runs kept), at 90 days' retention. This
index holds the rows finished but not finalised, which are a handful, and costs nothing to the common
run: one finalised by the statement that records its outcome never enters it.

Revision ID: 0007_unfinalized
Revises: 0006_one_running
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_unfinalized"
down_revision = "0006_one_running"
branch_labels = None
depends_on = None

UNFINALIZED = "finalized_at IS NULL AND finished_at IS NOT NULL"


def upgrade() -> None:
    where = sa.text(UNFINALIZED)
    op.create_index("ix_runs_unfinalized", "runs", ["finished_at"], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_runs_unfinalized", table_name="runs")
