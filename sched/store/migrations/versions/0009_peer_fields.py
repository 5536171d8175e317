"""Every field of an openclaw-scheduler job is kept: ``payload_scope``, ``job_class`` and the v0.2 fields.

A verbatim job row of the peer (or one imported from its ``scheduler.db``) carries ``payload_scope``,
``job_class`` and the v0.2 identity/trust/authorization/evidence/contract fields. clawsched does not act
on them yet; they are stored so nothing of the job is lost, and shown by ``jobs get``. The v0.2 fields
share one JSON column (``governance``): 23 optional values that most jobs leave empty.

Revision ID: 0009_peer_fields
Revises: 0008_pipeline_attempts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_peer_fields"
down_revision = "0008_pipeline_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch (table copy) on SQLite would drop what refers to jobs
    op.add_column("jobs", sa.Column("payload_scope", sa.String(16), nullable=False, server_default="own"))
    op.add_column("jobs", sa.Column("job_class", sa.String(32), nullable=False, server_default="standard"))
    op.add_column("jobs", sa.Column("governance", sa.JSON()))


def downgrade() -> None:
    op.drop_column("jobs", "governance")
    op.drop_column("jobs", "job_class")
    op.drop_column("jobs", "payload_scope")
