"""Prometheus metrics from the API, a worker and a beat: each ``/metrics`` parses with the Prometheus text
parser, a failed run moves the failure counter (a real prefork worker process, multiprocess mode), a fire
held late by a stopped worker moves the lateness histogram, a late fire moves the beat's late and missed
counters. Real Redis, real worker and beat, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from clawsched.api.app import create_app
from clawsched.sched import jobs, metrics, runs
from clawsched.sched.coordination import presence
from clawsched.sched.coordination.wake import notify
from clawsched.sched.store.models import Job, utcnow
from clawsched.workers.app import create_app as create_celery_app
from tests.conftest import BeatThread, running_worker
from tests.support.services import free_port
from tests.support.waiting import wait_for

FAR = "0 0 1 1 *"  # a cron that does not fire during a test: runs start by hand


def shell(name: str, payload: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "session_target": "shell", "payload_message": payload, "run_timeout_ms": 30_000,
            "schedule_cron": FAR, **fields}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels); parsing is the Prometheus text parser's."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, **labels: str) -> float:
    return scraped.get((metric, frozenset(labels.items())), 0.0)


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
    try:
        return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
    except httpx.HTTPError:
        return None


def test_the_api_serves_the_fleet_behind_its_token(settings, store, redis, worker, beat):
    with TestClient(create_app(settings.with_(api_token="t0ken"))) as client:
        assert client.get("/metrics").status_code == 401
        wait_for(lambda: len(presence.live(redis, settings)["beat"]) == 1, timeout=10, what="the beat")
        answer = client.get("/metrics", headers={"Authorization": "Bearer t0ken"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    scraped = samples(answer.text)
    assert value(scraped, "clawsched_redis_up") == 1.0
    assert value(scraped, "celery_worker_up", hostname=worker.hostname) == 1.0
    assert value(scraped, "clawsched_workers_live") == 1.0 and value(scraped, "clawsched_beats_live") == 1.0
    for queue in settings.consumed_queues():  # the upkeep queue, shell and agent
        assert ("celery_queue_length", frozenset({("queue_name", queue)})) in scraped
    assert value(scraped, "clawsched_gateway_ready") == 0.0  # no gateway runs here
    assert any(name == "process_cpu_seconds_total" for name, _ in scraped)


def test_queue_depth_counts_the_messages_waiting_for_a_worker(settings, store, redis, beat):
    job = jobs.create(store, shell("waits", "true"))
    for _ in range(3):
        jobs.run_now(store, job.id)
    notify(redis, settings, "test")
    wait_for(lambda: all(r.status == "queued" for r in runs.for_job(store, job.id)) and
             len(runs.for_job(store, job.id)) == 3, timeout=10, what="three queued runs")
    depth = wait_for(lambda: value(samples(_exposition(settings)), "celery_queue_length",
                                   queue_name=settings.run_queue("shell")),
                     timeout=10, what="the queue to hold the messages")
    assert depth == 3.0


def _exposition(settings: Any) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.exposition(None, metrics.FleetCollector(settings))).decode()


class WorkerProcess:
    """``clawsched worker`` (prefork) serving its metrics on a loopback port."""

    def __init__(self, settings: Any, port: int) -> None:
        env = {**os.environ, "CLAWSCHED_DATABASE_URL": settings.database_url, "CLAWSCHED_REDIS_URL": settings.redis_url,
               "CLAWSCHED_NAMESPACE": settings.namespace, "CLAWSCHED_HOME": str(settings.home),
               "CLAWSCHED_HEARTBEAT_S": str(settings.heartbeat_interval_s), "CLAWSCHED_LOG_LEVEL": "WARNING",
               "CLAWSCHED_WORKER_METRICS_PORT": str(port)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = (settings.home / "worker.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "clawsched.cli", "worker", "-c", "2", "--pool", "prefork",
                                      "-n", "metrics@%h"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
                break
        self.log.close()


@pytest.fixture
def worker_process(settings: Any, redis: Any) -> Iterator[tuple[WorkerProcess, int]]:
    port = free_port()
    proc = WorkerProcess(settings, port)
    try:
        wait_for(lambda: proc.proc.poll() is None and scrape(port) is not None, timeout=30,
                 what="the worker's /metrics to answer")
        yield proc, port
    finally:
        proc.stop()


def test_a_failed_run_moves_the_failure_counter_of_a_prefork_worker(settings, store, redis, beat, worker_process):
    proc, port = worker_process
    job = jobs.create(store, shell("exits seven", "exit 7"))
    run_id = jobs.run_now(store, job.id)
    notify(redis, settings, "test")
    run = wait_for(lambda: (r := runs.get(store, run_id)).finished_at and r, timeout=30, what="the run to end")
    assert run.status == "error" and run.shell_exit_code == 7
    node = f"metrics@{socket.gethostname()}"
    failed = wait_for(lambda: value(scrape(port) or {}, "celery_task_failed_total", name=job.name, hostname=node,
                                    queue_name=settings.run_queue("shell"), exception="error"), timeout=10)
    assert failed == 1.0
    scraped = scrape(port) or {}
    assert value(scraped, "clawsched_runs_total", job_id=job.id, job_name=job.name, status="error") == 1.0
    assert value(scraped, "clawsched_run_duration_seconds_count", session_target="shell", status="error") == 1.0
    assert value(scraped, "clawsched_run_lateness_seconds_count", trigger="manual") == 1.0
    assert value(scraped, "clawsched_gateway_ready") == 0.0
    assert list((settings.home / "metrics").glob(f"worker-{proc.proc.pid}/*.db"))  # prefork children's files


def test_a_fire_held_late_by_a_stopped_worker_moves_the_lateness_histogram(settings, store, redis, beat):
    app = create_celery_app(settings.with_(worker_metrics_port=free_port()))
    due = utcnow()
    job = jobs.create(store, shell("held", "true", schedule_cron=None, schedule_kind="at",
                                   schedule_at=due.isoformat()))
    notify(redis, settings, "test")
    (run,) = wait_for(lambda: [r for r in runs.for_job(store, job.id) if r.status == "queued"], timeout=10)
    wait_for(lambda: utcnow() - run.scheduled_for >= timedelta(seconds=1), timeout=5,
             what="the queued run to be a second late")  # no worker is up to take it
    before = _lateness(None)
    with running_worker(app):
        wait_for(lambda: runs.get(store, run.id).status == "ok", timeout=15, what="the late run to finish")
        port = app.clawsched_settings.worker_metrics_port
        after = wait_for(lambda: (seen := _lateness(scrape(port) or {})) and seen[0] > before[0] and seen,
                         timeout=10, what="the lateness to be observed")
    assert after[0] == before[0] + 1
    assert after[1] == before[1]  # the one new observation is above 0.5 s


def _lateness(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float] | None) -> tuple[float, float]:
    """(observations, observations of at most 0.5 s) of scheduled runs' lateness: scraped, or (None) read
    from this process's registry, which the in-process worker's endpoint serves."""
    if scraped is None:
        read = metrics.WORKER.get_sample_value
        return (read("clawsched_run_lateness_seconds_count", {"trigger": "schedule"}) or 0.0,
                read("clawsched_run_lateness_seconds_bucket", {"trigger": "schedule", "le": "0.5"}) or 0.0)
    return (value(scraped, "clawsched_run_lateness_seconds_count", trigger="schedule"),
            value(scraped, "clawsched_run_lateness_seconds_bucket", trigger="schedule", le="0.5"))


def test_the_beat_serves_its_loop_its_claims_and_the_fleet(settings, store, redis):
    port = free_port()
    app = create_celery_app(settings.with_(beat_metrics_port=port))
    anchor = utcnow() - timedelta(seconds=35)  # slots every 10 s from here: the last one passed 5 s ago
    job = jobs.create(store, shell("was late", "true", schedule_cron=None, schedule_kind="every",
                                   schedule_every_ms=10_000, schedule_anchor=anchor.isoformat()))
    with store.session() as s:  # the beat was down for 35 s: one late fire, its three older slots missed
        s.execute(update(Job).where(Job.id == job.id).values(next_run_at=anchor))
    watched = {"late": ("clawsched_beat_fires_late_total", {}),
               "missed": ("clawsched_beat_fires_missed_total", {"reason": "coalesced"}),
               "lag_30": ("clawsched_beat_claim_lag_seconds_bucket", {"le": "30.0"}),
               "lag_60": ("clawsched_beat_claim_lag_seconds_bucket", {"le": "60.0"}),
               "loops": ("clawsched_beat_loop_seconds_count", {})}
    before = {key: metrics.BEAT.get_sample_value(name, labels) or 0.0 for key, (name, labels) in watched.items()}
    beat = BeatThread(app).start()
    try:
        scraped = wait_for(lambda: (s := scrape(port)) and value(s, watched["late"][0]) > before["late"]
                           and value(s, watched["loops"][0]) > before["loops"] and s,
                           timeout=15, what="the beat to claim the late fire and end that pass of its loop")
    finally:
        beat.stop()
    moved = {key: value(scraped, name, **labels) - before[key] for key, (name, labels) in watched.items()}
    assert moved["late"] == 1 and moved["missed"] == 3
    assert moved["lag_30"] == 0 and moved["lag_60"] == 1  # the fire was claimed 35 s after it was due
    assert value(scraped, "clawsched_beats_live") == 1.0 and value(scraped, "clawsched_redis_up") == 1.0
    wait_for(lambda: scrape(port) is None, timeout=5, what="the endpoint to close with the beat")
