"""Alembic environment: runs against the Store handed in by ``clawsched.sched.store.migrations.upgrade``."""

from __future__ import annotations

from alembic import context

from clawsched.sched.store.models import Base

config = context.config
store = config.attributes["store"]

with store.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=store.dialect == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
