"""Short forms of the store's run-lifecycle verbs for tests that drive a run by hand."""

from __future__ import annotations

from typing import Any

from clawsched.sched.outcomes import Outcome
from clawsched.sched.store import finishing, starting
from clawsched.sched.store.tables import utcnow


def start_run(store: Any, run_id: str, hostname: str = "h", pid: int = 1) -> bool:
    return starting.start(store, run_id, worker=starting.Worker(hostname, pid), now=utcnow())


def finish_run(store: Any, run_id: str, outcome: Outcome) -> Any:
    return finishing.finish(store, run_id, outcome, now=utcnow())


def load_run(rt: Any, run_id: str, worker_id: str = "w") -> starting.Loaded | None:
    """What the worker's first statement does: the run with its job, started where no gate must look."""
    from clawsched.workers import gates

    return starting.load(rt.store, run_id, free=gates.all_free(gates.GATES),
                         worker=starting.Worker(rt.hostname, rt.pid, worker_id), now=utcnow())
