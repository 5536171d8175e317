"""The run queues as the fleet sees them: each queue's depth in Redis and the live workers consuming it.

``clawsched status`` and ``/metrics`` show these: a queue with runs waiting and no consumer (a job named
``queue: "gpu"`` and no worker started with ``-Q gpu``) is visible at once, not a silent backlog.
Queues listed: the base queue (upkeep), the default routes (``shell``, ``agent``), every queue a live
worker announces, and any the caller names (jobs' own queues).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clawsched.sched.rules import routing
from clawsched.sched.settings import Settings

PRIORITY_STEPS = (3, 6, 9)  # kombu's Redis transport keeps a list per priority step beside the plain one


def queue_keys(settings: Settings, queue: str) -> list[str]:
    """The Redis lists that hold ``queue``: kombu's list per priority step, under the namespace prefix."""
    base = f"{settings.namespace}:{queue}"
    return [base, *(f"{base}\x06\x16{step}" for step in PRIORITY_STEPS)]


def known(settings: Settings, workers: Iterable[dict[str, Any]], routes: Iterable[str] = ()) -> list[str]:
    """Celery names of the queues worth showing, base queue first."""
    names = [settings.queue, *(settings.run_queue(r) for r in (*routing.DEFAULT_ROUTES, *routes))]
    for worker in workers:
        names.extend(str(q) for q in worker.get("queues") or ())
    return list(dict.fromkeys(names))


def overview(client: Any, settings: Settings, workers: list[dict[str, Any]],
             routes: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """``{celery queue: {"route", "depth", "consumers"}}`` in one round trip to Redis."""
    names = known(settings, workers, routes)
    pipe = client.pipeline(transaction=False)
    for name in names:
        for key in queue_keys(settings, name):
            pipe.llen(key)
    lengths = pipe.execute()
    step = len(PRIORITY_STEPS) + 1
    return {name: {"route": routing.route_of(settings.namespace, name) or "(upkeep)",
                   "depth": sum(int(n) for n in lengths[i * step:(i + 1) * step]),
                   "consumers": sorted(str(w.get("id")) for w in workers if name in (w.get("queues") or ()))}
            for i, name in enumerate(names)}
