"""Workflow engine additions (retries, chains, approvals, pools, recovery).

Reserved so the workflow and agent work can evolve the schema in parallel without branching heads;
an empty upgrade is a valid step.

Revision ID: 0002_workflow
Revises: 0001_initial
"""

from __future__ import annotations

revision = "0002_workflow"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
