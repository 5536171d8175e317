"""Celery tasks: each body is a few lines that call a service. Celery is only the carrier."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from clawsched.sched.runtime import Runtime

log = logging.getLogger(__name__)


def runtime_of(app: Celery) -> Runtime:
    """One Runtime per app per process (prefork children build their own after the fork)."""
    rt = getattr(app, "_clawsched_runtime", None)
    if rt is None:
        rt = Runtime(app.clawsched_settings)  # type: ignore[attr-defined]
        app._clawsched_runtime = rt  # type: ignore[attr-defined]
    return rt


def register(app: Celery) -> None:
    from clawsched.workers import execution, maintenance, pipeline

    @app.task(name="clawsched.run", bind=True, ignore_result=True, shared=False)
    def run(self: Any, run_id: str) -> str:
        rt = runtime_of(self.app)
        if rt.settings.post_run == "inline":
            execution.execute_and_process(rt, run_id, worker_id=self.request.hostname)
        else:
            execution.execute(rt, run_id, worker_id=self.request.hostname)
        return run_id

    @app.task(name="clawsched.finished", bind=True, ignore_result=True, shared=False)
    def finished(self: Any, run_id: str) -> None:
        pipeline.process(runtime_of(self.app), run_id)

    @app.task(name="clawsched.maintenance", bind=True, ignore_result=True, shared=False)
    def maintain(self: Any) -> dict[str, int]:
        return maintenance.run_all(runtime_of(self.app), self.app)


def send_runs(app: Celery, run_ids: list[str], producer: Any = None) -> int:
    """Send each run to the workers; returns how many went out as prebuilt messages (``publishing``).

    The post-run pipeline (retries, chains, delivery) consumes the outcome either in the run task itself,
    right after the outcome is recorded (``post_run="inline"``, the default), or in a Celery ``link``
    callback task (``"callback"``). Both are idempotent, and the ``finalize_orphans`` pass covers a
    worker that died in between. Inline spares a second Celery task per run: on two cores that is the
    difference between half and two thirds of bare Celery's throughput (see bench/README.md).
    """
    from clawsched.beat.publishing import publish_runs

    settings = app.clawsched_settings  # type: ignore[attr-defined]
    link = None
    if settings.post_run == "callback":
        link = app.signature("clawsched.finished", queue=settings.queue, immutable=False)
    return publish_runs(app, run_ids, queue=settings.queue, link=link, producer=producer)
