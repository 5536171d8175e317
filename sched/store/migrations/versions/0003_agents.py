"""Agent jobs, delivery, messages, agents and task tracker additions.

Dispatch tracking columns, and the database's own full-text index over run summaries (context
retrieval ``hybrid``): an FTS5 table kept by triggers on SQLite, a generated ``tsvector`` column with a
GIN index on PostgreSQL.

Revision ID: 0003_agents
Revises: 0002_workflow
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_agents"
down_revision = "0002_workflow"
branch_labels = None
depends_on = None

def dispatch_columns() -> tuple[sa.Column[object], ...]:
    """Fresh Column objects on each call: a Column can belong to one table only."""
    return (
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("monitor", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("watchdog_after_s", sa.Integer(), nullable=False, server_default="3600"),
        sa.Column("alerted_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
    )

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE runs_fts USING fts5(body, run_id UNINDEXED, job_id UNINDEXED, tokenize='porter')",
    "CREATE TRIGGER runs_fts_ai AFTER INSERT ON runs WHEN new.summary IS NOT NULL BEGIN "
    "INSERT INTO runs_fts(body, run_id, job_id) VALUES (new.summary, new.id, new.job_id); END",
    "CREATE TRIGGER runs_fts_au AFTER UPDATE OF summary ON runs BEGIN "
    "DELETE FROM runs_fts WHERE run_id = old.id; "
    "INSERT INTO runs_fts(body, run_id, job_id) SELECT new.summary, new.id, new.job_id "
    "WHERE new.summary IS NOT NULL; END",
    "CREATE TRIGGER runs_fts_ad AFTER DELETE ON runs BEGIN DELETE FROM runs_fts WHERE run_id = old.id; END",
    "INSERT INTO runs_fts(body, run_id, job_id) SELECT summary, id, job_id FROM runs WHERE summary IS NOT NULL",
)

POSTGRES_FTS = (
    "ALTER TABLE runs ADD COLUMN summary_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', coalesce(summary, ''))) STORED",
    "CREATE INDEX ix_runs_summary_tsv ON runs USING gin (summary_tsv)",
)


def upgrade() -> None:
    with op.batch_alter_table("dispatches") as batch:
        for column in dispatch_columns():
            batch.add_column(column)
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS if dialect == "postgresql" else ():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("runs_fts_ai", "runs_fts_au", "runs_fts_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS runs_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_runs_summary_tsv")
        op.execute("ALTER TABLE runs DROP COLUMN IF EXISTS summary_tsv")
    with op.batch_alter_table("dispatches") as batch:
        for column in dispatch_columns():
            batch.drop_column(column.name)
