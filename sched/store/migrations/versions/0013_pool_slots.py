"""A resource pool has a capacity (``jobs.pool_slots``), a job may have a concurrency key
(``jobs.concurrency_key``, ``jobs.concurrency_limit``), and their slots are held in SQL.

The pool used to be a Redis lease: one run at a time, and after ``FLUSHALL`` (or a Redis restart without
persistence) a second run took the pool beside the first. A slot is now the run row itself: a running run
of a pool's job holds one, and a run starts only inside a transaction that counts them
(``store.pools``). Jobs without ``pool_slots`` keep the old capacity, one.

Revision ID: 0013_pool_slots
Revises: 0012_misfires
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_pool_slots"
down_revision = "0012_misfires"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (nullable, no default): no table copy on SQLite
    op.add_column("jobs", sa.Column("pool_slots", sa.Integer(), nullable=True))
    op.add_column("jobs", sa.Column("concurrency_key", sa.String(length=128), nullable=True))
    op.add_column("jobs", sa.Column("concurrency_limit", sa.Integer(), nullable=True))
    where = sa.text("concurrency_key IS NOT NULL")
    op.create_index("ix_jobs_concurrency_key", "jobs", ["concurrency_key"], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_jobs_concurrency_key", table_name="jobs")
    for column in ("concurrency_limit", "concurrency_key", "pool_slots"):
        op.drop_column("jobs", column)
