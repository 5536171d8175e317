"""Runs go to queues by target: a job may name its own queue, and a run records the queue it came from.

``jobs.queue`` overrides the target's queue (``shell``, ``agent``; ``rules/routing``); ``runs.queue`` is
the queue the worker took the run from, beside the host and pid that ran it.

Revision ID: 0011_queues
Revises: 0010_output_chunks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_queues"
down_revision = "0010_output_chunks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch (table copy) on SQLite would drop the full-text triggers on runs
    op.add_column("jobs", sa.Column("queue", sa.String(length=64), nullable=True))
    op.add_column("runs", sa.Column("queue", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "queue")
    op.drop_column("jobs", "queue")
