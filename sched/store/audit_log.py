"""The audit log's table, ``job_audit``: every change to a job (``sched.audit`` writes and reads it).

A table of its own module, beside ``tables`` (which is at its size limit), on the same MetaData. It has no
foreign key to ``jobs``, so a deleted job's history outlives it; it is pruned with the run retention.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from .columns import METADATA, UTCDateTime, utcnow

JOB_AUDIT = Table(
    "job_audit",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # add | update | enable | disable | pause | resume | delete
    Column("actor", String(256), nullable=False),
    Column("source", String(16), nullable=False),  # cli | api | agent | importer | apply | scheduler | internal
    Column("at", UTCDateTime(), default=utcnow, nullable=False),
    Column("changes", JSON),  # {field: [before, after]}, secrets masked
    Column("note", Text),
    Index("ix_job_audit_job", "job_id", "at"),
    Index("ix_job_audit_at", "at"),
)
