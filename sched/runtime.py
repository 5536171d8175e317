"""What a worker or beat process holds: its settings, one Store and one Redis client, built once."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from clawsched.sched.coordination.connection import client
from clawsched.sched.settings import Settings
from clawsched.sched.store.engine import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store = field(init=False)
    redis: Any = field(init=False)
    hostname: str = field(default_factory=socket.gethostname)

    def __post_init__(self) -> None:
        self.store = Store(self.settings.database_url)
        self.redis = client(self.settings.require_redis_url())

    @property
    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.store.dispose()
