"""What every CLI command shares: settings built once, and a store and Redis opened only when used."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from clawsched.sched.settings import Settings


class CliContext:
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @cached_property
    def settings(self) -> Settings:
        return self._settings or Settings.from_env()

    @cached_property
    def store(self) -> Any:
        from clawsched.sched.store.engine import Store

        store = Store(self.settings.database_url)
        ensure_schema(store)
        return store

    @cached_property
    def redis(self) -> Any:
        from clawsched.sched.coordination.connection import client

        return client(self.settings.require_redis_url())

    def resolve(self, kind: str, text: str) -> str:
        """The full id of a ``kind`` (job, run, approval, message, tracker) from an id or a unique prefix."""
        from clawsched.sched.store import prefixes

        return prefixes.resolve(self.store, kind, text)

    def resolve_opt(self, kind: str, text: str | None) -> str | None:
        return None if text is None else self.resolve(kind, text)

    def close(self) -> None:
        """End the store's connections politely; a CLI process exits right after its command."""
        if "store" in self.__dict__:
            self.store.dispose()

    def wake(self, reason: str) -> bool:
        """Wake the beats so a change takes effect now, not at their next planned look."""
        from clawsched.sched.coordination.wake import notify

        return notify(self.redis, self.settings, reason)


def ensure_schema(store: Any) -> None:
    """A fresh SQLite file gets its schema on first use; PostgreSQL wants an explicit ``db upgrade``."""
    from clawsched.sched.store import migrations

    migrations.ensure_embedded(store)
