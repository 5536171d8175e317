"""Which groups a run needs a slot of before it starts: its job's resource pool and its concurrency key.

A ``resource_pool`` is a named group of jobs (``slots`` at once). A ``concurrency_key`` limits runs per
key value to ``concurrency_limit`` at once: ``job`` (each job by itself: the limit is its own
parallelism, with overlap ``allow``), ``agent`` (every job with this key and the same ``agent_id``), or
any other text, shared by every job that gives the same text. Both are enforced by the start
(``store.pools``); this module only says which groups a job belongs to, so the store and the worker read
one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class LimitKind(Enum):
    POOL = "pool"
    PER_JOB = "job"
    PER_AGENT = "agent"
    SHARED = "shared"

    @property
    def field(self) -> str:
        """The job field the group comes from (and the start of a waiting run's ``skip_reason``)."""
        return "resource_pool" if self is LimitKind.POOL else "concurrency_key"


@dataclass(frozen=True)
class Limit:
    kind: LimitKind
    key: str  # the value the group's jobs are found by: the pool's name, the job id, the agent, the text

    @property
    def label(self) -> str:
        """How messages name the group: ``resource_pool 'gpu'``, ``concurrency_key 'agent:main'``."""
        shown = self.key if self.kind in (LimitKind.POOL, LimitKind.SHARED) else f"{self.kind.value}:{self.key}"
        return f"{self.kind.field} {shown!r}"

    @property
    def lock(self) -> str:
        """The name the group is locked by while a run takes its slot (one per group)."""
        return f"{self.kind.value}:{self.key}"


def limits_for(job: Any) -> tuple[Limit, ...]:
    """The groups a run of ``job`` takes a slot of (none for most jobs)."""
    found = []
    if job.resource_pool:
        found.append(Limit(LimitKind.POOL, job.resource_pool))
    key = job.concurrency_key
    if key == "job":
        found.append(Limit(LimitKind.PER_JOB, job.id))
    elif key == "agent":
        found.append(Limit(LimitKind.PER_AGENT, job.agent_id))
    elif key:
        found.append(Limit(LimitKind.SHARED, key))
    return tuple(found)
