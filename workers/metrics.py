"""A worker's metrics: what each run did (recorded once, in memory, when it ends) and the ``/metrics``
endpoint the worker serves on a loopback port when ``CLAWSCHED_WORKER_METRICS_PORT`` is set.

Recording costs a few counter and histogram updates per run and never touches Redis or SQL. Under the
prefork pool each child records into prometheus-client's multiprocess files (``PROMETHEUS_MULTIPROC_DIR``,
set by ``clawsched worker`` under ``CLAWSCHED_HOME/metrics``), and the main process serves them all; a child
that exits is marked dead so its live gauges go with it. The names are in ``clawsched.sched.metrics``.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from celery import Celery, bootsteps
from celery.signals import worker_process_shutdown

from clawsched.sched import metrics as m
from clawsched.sched.settings import Settings
from clawsched.sched.states import RunStatus
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.tables import utcnow

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., str])


def run_ended(job: Job, run: Run, status: RunStatus | None, *, started_at: datetime | None, hostname: str,
              queue: str) -> None:
    """Count one run that reached ``status`` (None: a duplicate message, not counted), with how late it
    started (from its due instant: scheduled fire, else not-before, else creation) and how long it ran."""
    if status is None or not status.terminal:
        return  # a duplicate message, a run that waits, or one whose outcome is still being written
    try:
        counters, lateness, duration = _series(job.id, job.name or job.id, job.session_target, status.value,
                                               run.trigger, hostname, queue)
        for counter in counters:
            counter.inc()
        if started_at is None:
            return
        due = run.scheduled_for or run.not_before or run.created_at
        if due is not None:
            lateness.observe(max(0.0, (started_at - due).total_seconds()))
        seconds = run.duration_ms / 1000.0 if run.duration_ms is not None else (utcnow() - started_at).total_seconds()
        duration.observe(max(0.0, seconds))
    except Exception:  # a metric must never fail a run
        log.exception("could not record metrics of run %s of job %s", run.id, job.id)


WAIT_REASONS = {"resource_pool": "resource_pool", "concurrency_key": "concurrency_key", "overlap:": "overlap",
                "cancelling": "superseding", "gateway": "gateway"}


def budget_skipped(limit: str) -> None:
    try:
        m.worker_metrics().budget_skips.labels(limit).inc()
    except Exception:  # a metric must never fail a run
        log.exception("could not count a budget skip (%s)", limit)


def run_waited(reason: str) -> None:
    """Count a run put back to wait, by the first word of why (``WAIT_REASONS``)."""
    try:
        m.worker_metrics().waits.labels(WAIT_REASONS.get(reason.split(" ", 1)[0], "other")).inc()
    except Exception:  # a metric must never fail a run
        log.exception("could not count a wait (%s)", reason)


@functools.lru_cache(maxsize=4096)
def _series(job_id: str, name: str, target: str, status: str, trigger: str, hostname: str,
            queue: str) -> tuple[tuple[Any, ...], Any, Any]:
    """The labelled series one run updates, looked up once per label combination (a run costs a few
    increments, not seven label lookups)."""
    w = m.worker_metrics()
    counters: list[Any] = [w.runs.labels(job_id, name, status)]
    if status == RunStatus.OK.value:
        counters.append(w.task_succeeded.labels(name, hostname, queue))
    elif status in m.FAILED:
        counters.append(w.task_failed.labels(name, hostname, queue, status))
    return tuple(counters), w.run_lateness.labels(trigger), w.run_duration.labels(target, status)


def counted_delivery(channel: str) -> Callable[[F], F]:
    """Count what a send function returns (``delivered``, ``failed``, ``duplicate``) under ``channel``."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def send(*args: Any, **kwargs: Any) -> str:
            outcome = fn(*args, **kwargs)
            m.worker_metrics().deliveries.labels(channel, outcome).inc()
            return outcome

        return send  # type: ignore[return-value]

    return wrap


def _child_exited(pid: int | None = None, **_: Any) -> None:
    if m.multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


class MetricsEndpoint(bootsteps.StartStopStep):
    """Worker bootstep: serve ``/metrics`` on ``metrics_host:worker_metrics_port`` (when set)."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.server: Any = None

    def start(self, parent: Any) -> None:
        settings: Settings = parent.app.clawsched_settings
        if not settings.worker_metrics_port:
            return
        if not m.multiprocess_dir() and "prefork" in type(parent.pool).__module__:
            log.warning("worker metrics: prefork children count in their own memory; start the worker with "
                        "`clawsched worker` (or set PROMETHEUS_MULTIPROC_DIR) to serve their counts")
        from clawsched.workers.gateway.client import client_for

        registry = m.exposition(m.WORKER, m.gateway_probe(lambda: client_for(settings).ready()),
                                process=not m.multiprocess_dir())
        self.server = m.serve(registry, settings.metrics_host, settings.worker_metrics_port)
        log.info("worker metrics on http://%s:%s/metrics", settings.metrics_host, settings.worker_metrics_port)

    def stop(self, parent: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def terminate(self, parent: Any) -> None:
        self.stop(parent)


def install(app: Celery) -> None:
    """Add the endpoint to ``app``'s workers, and the prefork bookkeeping of exited children."""
    app.steps["worker"].add(MetricsEndpoint)
    worker_process_shutdown.connect(_child_exited, weak=False, dispatch_uid="clawsched.metrics.child_exited")
