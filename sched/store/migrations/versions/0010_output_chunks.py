"""Offloaded output lives in the database, so every host reads it.

A stream past its job's offload threshold stayed in a file on the worker's host, and ``runs output``
anywhere else answered "not readable here". ``run_output_chunks`` holds it a megabyte a row (bytes as
written, decoded on read), keyed by run, stream and sequence, and goes with its run (``ON DELETE
CASCADE``: retention prunes it with the run).

Revision ID: 0010_output_chunks
Revises: 0009_peer_fields
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_output_chunks"
down_revision = "0009_peer_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_output_chunks",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_output_chunks_run_id_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "stream", "seq", name=op.f("pk_run_output_chunks")),
    )


def downgrade() -> None:
    op.drop_table("run_output_chunks")
