"""Alembic migrations, applied by ``clawsched db upgrade`` and automatically by ``clawsched up``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from clawsched.sched.store.engine import Store

HERE = Path(__file__).parent


def _config(store: Store):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["store"] = store
    return cfg


def upgrade(store: Store, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; returns the revision it ended on."""
    from alembic import command

    command.upgrade(_config(store), revision)
    return current(store)


def current(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(Store("sqlite://"))).get_current_head()


def is_current(store: Store) -> bool:
    if "jobs" not in inspect(store.engine).get_table_names():
        return False
    return current(store) == head()


def ensure_embedded(store: Store) -> None:
    """A fresh SQLite file gets its schema on first use (the embedded default needs no setup step);
    PostgreSQL wants an explicit ``clawsched db upgrade``, run once per release."""
    if store.dialect != "sqlite":
        return
    path = store.url.split(":///", 1)[-1]
    if path and path != ":memory:" and Path(path).exists() and Path(path).stat().st_size > 0:
        return
    upgrade(store)
