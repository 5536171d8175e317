"""A finished run counts the reconciler's attempts at its post-run pipeline: a poison run is quarantined.

``finalize_orphans`` re-runs the pipeline of every finished run that was never finalised. A run whose
pipeline fails every time, or never returns (a step that wedges its process), was retried on every pass,
on process after process. ``runs.pipeline_attempts`` is counted up by a guarded UPDATE *before* each
attempt, so an attempt that never comes back is counted too; past the limit the pass leaves the run
alone (logged once, loudly) and it stays unfinalised for an operator to look at.

Revision ID: 0008_pipeline_attempts
Revises: 0007_unfinalized
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_pipeline_attempts"
down_revision = "0007_unfinalized"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch (table copy) on SQLite would drop the full-text triggers on runs
    op.add_column("runs", sa.Column("pipeline_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("runs", "pipeline_attempts")
