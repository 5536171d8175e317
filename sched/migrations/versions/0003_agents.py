"""Agent jobs, delivery, messages, agents and task tracker additions.

Reserved so the workflow and agent work can evolve the schema in parallel without branching heads;
an empty upgrade is a valid step.

Revision ID: 0003_agents
Revises: 0002_workflow
"""

from __future__ import annotations

revision = "0003_agents"
down_revision = "0002_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
