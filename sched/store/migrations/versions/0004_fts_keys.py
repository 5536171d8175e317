"""SQLite: keep the full-text index of run summaries in O(log n) per write.

Migration 0003's triggers found a run's FTS5 row by ``run_id``, an UNINDEXED column, so every UPDATE
that set ``summary`` (every finished run, even with no output) and every deleted run scanned the whole
index: a cost that grew with the run history. Now ``runs_fts_keys`` maps each run to its FTS5 rowid,
the triggers fire only when the summary really changes (or a run that had one is deleted), and each
finds its row by rowid. PostgreSQL (a generated ``tsvector`` with a GIN index) is unchanged.

Revision ID: 0004_fts_keys
Revises: 0003_agents
"""

from __future__ import annotations

from alembic import op

revision = "0004_fts_keys"
down_revision = "0003_agents"
branch_labels = None
depends_on = None

_DROP_TRIGGERS = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in ("runs_fts_ai", "runs_fts_au", "runs_fts_ad"))
_FTS_ROW = "(SELECT fts_rowid FROM runs_fts_keys WHERE run_id = old.id)"

UPGRADE = (
    *_DROP_TRIGGERS,
    "CREATE TABLE runs_fts_keys (run_id VARCHAR(64) NOT NULL PRIMARY KEY, fts_rowid INTEGER NOT NULL)",
    "DELETE FROM runs_fts",
    "INSERT INTO runs_fts(rowid, body, run_id, job_id) SELECT rowid, summary, id, job_id FROM runs "
    "WHERE summary IS NOT NULL",
    "INSERT INTO runs_fts_keys(run_id, fts_rowid) SELECT id, rowid FROM runs WHERE summary IS NOT NULL",
    "CREATE TRIGGER runs_fts_ai AFTER INSERT ON runs WHEN new.summary IS NOT NULL BEGIN "
    "INSERT INTO runs_fts(body, run_id, job_id) VALUES (new.summary, new.id, new.job_id); "
    "INSERT INTO runs_fts_keys(run_id, fts_rowid) VALUES (new.id, last_insert_rowid()); END",
    "CREATE TRIGGER runs_fts_au AFTER UPDATE OF summary ON runs WHEN old.summary IS NOT new.summary BEGIN "
    f"DELETE FROM runs_fts WHERE rowid = {_FTS_ROW}; "
    "DELETE FROM runs_fts_keys WHERE run_id = old.id; "
    "INSERT INTO runs_fts(body, run_id, job_id) SELECT new.summary, new.id, new.job_id WHERE new.summary IS NOT NULL; "
    "INSERT INTO runs_fts_keys(run_id, fts_rowid) SELECT new.id, last_insert_rowid() "
    "WHERE new.summary IS NOT NULL; END",
    "CREATE TRIGGER runs_fts_ad AFTER DELETE ON runs WHEN old.summary IS NOT NULL BEGIN "
    f"DELETE FROM runs_fts WHERE rowid = {_FTS_ROW}; "
    "DELETE FROM runs_fts_keys WHERE run_id = old.id; END",
)

DOWNGRADE = (  # migration 0003's triggers
    *_DROP_TRIGGERS,
    "DROP TABLE IF EXISTS runs_fts_keys",
    "CREATE TRIGGER runs_fts_ai AFTER INSERT ON runs WHEN new.summary IS NOT NULL BEGIN "
    "INSERT INTO runs_fts(body, run_id, job_id) VALUES (new.summary, new.id, new.job_id); END",
    "CREATE TRIGGER runs_fts_au AFTER UPDATE OF summary ON runs BEGIN "
    "DELETE FROM runs_fts WHERE run_id = old.id; "
    "INSERT INTO runs_fts(body, run_id, job_id) SELECT new.summary, new.id, new.job_id "
    "WHERE new.summary IS NOT NULL; END",
    "CREATE TRIGGER runs_fts_ad AFTER DELETE ON runs BEGIN DELETE FROM runs_fts WHERE run_id = old.id; END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in DOWNGRADE:
            op.execute(statement)
