"""The metrics clawsched exports to Prometheus, defined once (``docs/metrics.md`` describes each one).

Three kinds of process serve them: a worker (what its runs did: ``WORKER``), a beat (what it claimed and
how long its loop took: ``BEAT``) and the API; the API and each beat also serve the fleet's state, read
from Redis when scraped (``FleetCollector``: live workers and beats, queue depth, Redis itself). Names
follow celery-exporter where it has one (``celery_task_*``, ``celery_queue_length``, ``celery_worker_up``),
else they start with ``clawsched_``.

Counters and histograms are plain prometheus-client metrics, so they are multiprocess-safe when the process
runs with ``PROMETHEUS_MULTIPROC_DIR`` set before prometheus-client is imported (``clawsched worker`` sets
it under ``CLAWSCHED_HOME``; prefork children then write to files that ``exposition`` reads back).
Histograms are labelled by low-cardinality values only; per-job detail is in the ``clawsched_runs`` counter.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from clawsched.sched import queues, states
from clawsched.sched.coordination import presence
from clawsched.sched.coordination.connection import probe
from clawsched.sched.settings import Settings

WORKER = CollectorRegistry()  # what a worker's runs did
BEAT = CollectorRegistry()  # what a beat claimed and sent

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
LOOP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATE_FIRE_S = 10.0  # a fire claimed later than this after its due instant counts as late
FAILED = tuple(sorted(status.value for status in states.FAILED))

class WorkerMetrics:
    """What a worker records about its runs and deliveries (``worker_metrics()`` builds it once)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter("clawsched_runs", "Runs a worker finished, by job and outcome status (ok, error, "
                            "timeout, cancelled, skipped, ...)", ["job_id", "job_name", "status"], registry=registry)
        self.task_succeeded = Counter("celery_task_succeeded", "Runs that ended ok (celery-exporter's name; `name` "
                                      "is the job's name)", ["name", "hostname", "queue_name"], registry=registry)
        self.task_failed = Counter("celery_task_failed", "Runs that ended error, timeout or crashed (celery-exporter's "
                                   "name; `exception` is the run status)", ["name", "hostname", "queue_name",
                                                                            "exception"], registry=registry)
        self.run_duration = Histogram("clawsched_run_duration_seconds", "How long a run executed, by session target "
                                      "(shell, isolated, session, main) and status", ["session_target", "status"],
                                      buckets=DURATION_BUCKETS, registry=registry)
        self.run_lateness = Histogram("clawsched_run_lateness_seconds", "From the instant a run was due (its "
                                      "scheduled fire, else its not-before instant) to its start on a worker",
                                      ["trigger"], buckets=LAG_BUCKETS, registry=registry)
        self.waits = Counter("clawsched_run_waits", "Times a run went back to wait instead of starting, by what "
                             "it waited for: resource_pool, concurrency_key, overlap (queue), superseding "
                             "(cancel_other), gateway, other", ["reason"], registry=registry)
        self.budget_skips = Counter("clawsched_budget_skips", "Runs recorded skipped because they would go past "
                                    "their job's budget, by limit: tokens_per_day, runs_per_hour", ["limit"],
                                    registry=registry)
        self.deliveries = Counter("clawsched_deliveries", "Delivery outcomes (chat messages and webhooks): "
                                  "delivered, failed, duplicate (already claimed; nothing sent)",
                                  ["channel", "outcome"], registry=registry)


class BeatMetrics:
    """What a beat records about its loop and claims (``beat_metrics()`` builds it once)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.dispatched = Counter("clawsched_beat_dispatched", "Runs a beat claimed and sent: `fire` (a scheduled "
                                  "fire) or `pending` (a manual run, retry, child or deferred run whose time came)",
                                  ["source"], registry=registry)
        self.claim_lag = Histogram("clawsched_beat_claim_lag_seconds", "From a fire's due instant to the beat's "
                                   "claim of it", buckets=LAG_BUCKETS, registry=registry)
        self.loop = Histogram("clawsched_beat_loop_seconds", "One pass of the beat's loop: claim everything due and "
                              "send it", buckets=LOOP_BUCKETS, registry=registry)
        self.fires_late = Counter("clawsched_beat_fires_late", f"Fires claimed more than {LATE_FIRE_S:g}s after they "
                                  "were due (the beat was down, stalled or behind)", registry=registry)
        self.fires_missed = Counter("clawsched_beat_fires_missed", "Fires the beat recorded as `missed` runs, by "
                                    "reason (coalesced, late, outside_window, past_deadline, catchup_limit; "
                                    "docs/scheduling.md)", ["reason"], registry=registry)


@functools.cache
def worker_metrics() -> WorkerMetrics:
    """Built on first use, so a process only exports the metrics of what it is (a worker's prefork children
    build theirs after the fork)."""
    return WorkerMetrics(WORKER)


@functools.cache
def beat_metrics() -> BeatMetrics:
    return BeatMetrics(BEAT)


def multiprocess_dir() -> str | None:
    """prometheus-client's own switch (it reads the variable itself, at import)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Forward:
    """A collector that yields another registry's metrics, so one exposition can combine several."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Any]:
        return self.source.collect()


class Probe:
    """A gauge read when scraped: ``fn()`` → 1 or 0 (0 when it raises)."""

    def __init__(self, name: str, documentation: str, fn: Callable[[], bool]) -> None:
        self.name, self.documentation, self.fn = name, documentation, fn

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            value = 1.0 if self.fn() else 0.0
        except Exception:
            value = 0.0
        yield GaugeMetricFamily(self.name, self.documentation, value=value)


def gateway_probe(fn: Callable[[], bool]) -> Probe:
    return Probe("clawsched_gateway_ready", "1 when the OpenClaw gateway answers its readiness probe (agent runs "
                 "wait while it is 0; shell runs do not need it)", fn)


def exposition(own: CollectorRegistry | None, *extra: Collector, process: bool = True) -> CollectorRegistry:
    """What one process serves: its own metrics (from every process of a prefork pool when multiprocess
    mode is on), then ``extra`` collectors read at scrape time, and process_* metrics where they make sense."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        if own is not None:
            registry.register(Forward(own))
        if process:
            ProcessCollector(registry=registry)
    for collector in extra:
        registry.register(collector)
    return registry


def serve(registry: CollectorRegistry, host: str, port: int) -> Any:
    """``/metrics`` over HTTP on ``host:port`` in a daemon thread; returns the server (``shutdown()``)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


class FleetCollector:
    """The fleet as seen from Redis when scraped: is Redis up, who is alive, how deep is the run queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        live, depth = self._read()
        yield GaugeMetricFamily("clawsched_redis_up", "1 when the Redis this installation uses answers",
                                value=0.0 if live is None else 1.0)
        if live is None:
            return
        up = GaugeMetricFamily("celery_worker_up", "1 for each live worker (its presence announcement is fresh)",
                               labels=["hostname"])
        for worker in live["worker"]:
            up.add_metric([str(worker.get("id"))], 1.0)
        yield up
        yield GaugeMetricFamily("clawsched_workers_live", "Workers whose announcement is fresh",
                                value=float(len(live["worker"])))
        yield GaugeMetricFamily("clawsched_beats_live", "Beats whose announcement is fresh",
                                value=float(len(live["beat"])))
        queue = GaugeMetricFamily("celery_queue_length", "Messages waiting in each queue", labels=["queue_name"])
        for name, seen in depth.items():
            queue.add_metric([name], float(seen["depth"]))
        yield queue

    def _read(self) -> tuple[dict[str, list[dict[str, Any]]] | None, dict[str, dict[str, Any]]]:
        if not self.settings.redis_url:
            return None, {}
        client = probe(self.settings.redis_url)
        try:
            live = presence.live(client, self.settings)
            return live, queues.overview(client, self.settings, live["worker"])
        except Exception:
            return None, {}
