"""Celery tasks: each body is a few lines that call a service. Celery is only the carrier.

What Flower shows: a run task's state and result come from ``reporting`` (FAILURE for a run that ended
error, timeout or crashed); the maintenance task sends no task events, so it stays out of the task list.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from clawsched.sched import tasknames
from clawsched.sched.rules import routing
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.tables import utcnow

from . import execution, reporting
from .post_run import pipeline
from .upkeep import passes

log = logging.getLogger(__name__)


def runtime_of(app: Celery) -> Runtime:
    """One Runtime per app per process (prefork children build their own after the fork)."""
    rt = getattr(app, "_clawsched_runtime", None)
    if rt is None:
        rt = Runtime(app.clawsched_settings)  # type: ignore[attr-defined]
        app._clawsched_runtime = rt  # type: ignore[attr-defined]
    return rt


def register(app: Celery) -> None:
    @app.task(name=tasknames.RUN, bind=True, ignore_result=True, shared=False, throws=(reporting.RunFailed,),
              acks_on_failure_or_timeout=True)
    def run(self: Any, run_id: str) -> str:
        rt = runtime_of(self.app)
        queue = routing.route_of(rt.settings.namespace, (self.request.delivery_info or {}).get("routing_key"))
        who = {"worker_id": self.request.hostname, "queue": queue}
        if rt.settings.post_run == "inline":
            return reporting.report(execution.execute_and_report(rt, run_id, **who))
        execution.execute(rt, run_id, **who)
        return run_id  # the argument of the ``finished`` callback, which runs the pipeline

    @app.task(name=tasknames.FINISHED, bind=True, ignore_result=True, shared=False)
    def finished(self: Any, run_id: str) -> None:
        pipeline.process(runtime_of(self.app), run_id, now=utcnow())

    @app.task(name=tasknames.MAINTENANCE, bind=True, ignore_result=True, shared=False, send_events=False)
    def maintain(self: Any) -> dict[str, int]:
        return passes.run_all(runtime_of(self.app), self.app, utcnow())
