"""8. The HTTP API (issue 14): ``cron.add`` and ``cron.run`` over HTTP, and ``cron.run`` -> shell started.

The server is the one ``clawsched api`` runs (uvicorn serving ``create_app``), a child process with the
Env's environment, behind it the bench's worker and a real beat. One keep-alive httpx client sends every
request, one at a time. Each round, after a pause of ``spacing`` (the previous run has ended, the fleet
is idle), it sends ``GET /health``, ``cron.add`` (a shell job due once a year) and ``cron.run`` (a probe job
that runs ``echo $EPOCHREALTIME``); then, after another pause, it queues a manual run the way ``clawsched
jobs run`` does (``jobs.run_now`` and a wake, as ``bench/dispatch.py`` measures it). The first rounds
are discarded as warm-up.

Figures and their same-run baselines:

* ``cron.add`` / ``cron.run`` request time (send -> answer read), p50/p99, beside ``/health`` on the same
  server process: the app's own hello-world route, no token, no database.
* ``cron.run`` -> shell started (the client's send instant -> the shell's clock), p50/p99, beside
  ``jobs run`` -> shell started (the run's ``created_at`` -> the shell's clock, as ``dispatch`` reports it).
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from .dispatch import stamped
from .harness import SHELL_STAMP, Env, Figure, bulk_jobs, epoch, free_port, not_due, percentiles, shell_spec, wait_until

WARMUP = 10  # rounds discarded: the first requests import handlers and open database connections
TARGET_MS = 20.0


@dataclass
class Samples:
    """Request times (ms) by route, and the runs each trigger queued with the instant it counts from."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {"hello": [], "cron.add": [], "cron.run": []})
    api_runs: dict[str, float] = field(default_factory=dict)  # run id -> client send instant (epoch s)
    cli_runs: list[str] = field(default_factory=list)  # run ids; these count from the run's created_at


def serve(env: Env, token: str) -> tuple[Any, str]:
    """``clawsched api --port <free port>`` with the Env's settings; returns once ``/health`` answers."""
    port = free_port()
    proc = env.spawn([sys.executable, "-m", "clawsched.cli", "api", "--port", str(port)], CLAWSCHED_API_TOKEN=token)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"clawsched api exited with {proc.returncode}; see {env.home}")
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, 60, "clawsched api to answer /health", poll=0.1)
    return proc, url


def _add_body(i: int) -> dict[str, Any]:
    job = {"name": f"api add {i} {uuid.uuid4().hex[:6]}", "sessionTarget": "shell",
           "schedule": {"kind": "cron", "expr": "0 0 1 1 *", "tz": "UTC"},
           "payload": {"kind": "command", "argv": ["true"]}, "delivery": {"mode": "none"}}
    return {"tool": "cron.add", "args": {"job": job}}


def _timed(client: httpx.Client, what: str, samples: Samples, method: str, path: str,
           body: dict[str, Any] | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    answer = client.request(method, path, json=body)
    samples.ms[what].append((time.perf_counter() - t0) * 1000)
    if answer.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {answer.status_code}: {answer.text[:500]}")
    data: dict[str, Any] = answer.json()
    return data


def _round(env: Env, client: httpx.Client, job_id: str, i: int, samples: Samples, spacing: float) -> None:
    from clawsched.sched import jobs
    from clawsched.sched.coordination.wake import notify

    time.sleep(spacing)
    _timed(client, "hello", samples, "GET", "/health")
    _timed(client, "cron.add", samples, "POST", "/v1/tools/invoke", _add_body(i))
    sent = time.time()
    run_body = {"tool": "cron.run", "args": {"jobId": job_id}}
    ran = _timed(client, "cron.run", samples, "POST", "/v1/tools/invoke", run_body)
    samples.api_runs[ran["runId"]] = sent
    time.sleep(spacing)
    samples.cli_runs.append(jobs.run_now(env.store, job_id))
    notify(env.redis, env.settings, "run now")  # what `clawsched jobs run` does


def measure(env: Env, url: str, token: str, job_id: str, count: int, spacing: float) -> Samples:
    """``WARMUP + count`` rounds; the warm-up rounds' samples are dropped (their runs still run)."""
    samples = Samples()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        for i in range(WARMUP + count):
            if i == WARMUP:
                samples = Samples()
            _round(env, client, job_id, i, samples, spacing)
    return samples


def started_latency(env: Env, samples: Samples) -> dict[str, dict[str, Any]]:
    """Each trigger's runs, once all have finished: send (or ``created_at``) -> the shell's clock, in ms."""
    from clawsched.sched.store.models import Run

    ids = [*samples.api_runs, *samples.cli_runs]

    def finished() -> list[Any] | None:
        with env.store.read() as s:
            rows = list(s.scalars(select(Run).where(Run.id.in_(ids), Run.finished_at.is_not(None))))
        return rows if len(rows) >= len(ids) else None

    rows = {r.id: r for r in wait_until(finished, 120, f"{len(ids)} runs to finish", poll=0.25)}
    api = [(stamped(rows[i]) or float("nan")) - sent for i, sent in samples.api_runs.items()]
    cli = [(stamped(rows[i]) or float("nan")) - epoch(rows[i].created_at) for i in samples.cli_runs]
    not_ok = sum(r.status != "ok" for r in rows.values())
    return {name: {k: v * 1000 for k, v in percentiles(lat).items() if k != "n"} | {"n": len(lat), "not_ok": not_ok}
            for name, lat in (("cron.run", api), ("jobs run", cli))}


def _request_figures(tag: str, stats: dict[str, dict[str, float]]) -> list[Figure]:
    hello = stats["hello"]
    figures = []
    for route in ("cron.add", "cron.run"):
        res, extra = stats[route], {"request_ms": stats[route], "baseline_ms": hello}
        figures.append(Figure("api", f"{route} over HTTP p50 ({tag})", res["p50"], "ms", hello["p50"],
                              "GET /health, same server, p50", "", None, extra=extra))
        figures.append(Figure("api", f"{route} over HTTP p99 ({tag})", res["p99"], "ms", hello["p99"],
                              "GET /health p99", f"p99 <= {TARGET_MS:g} ms", res["p99"] <= TARGET_MS,
                              note=f"n={res['n']}, sequential, one keep-alive client", extra=extra))
    return figures


def _started_figures(tag: str, started: dict[str, dict[str, Any]]) -> list[Figure]:
    api, cli = started["cron.run"], started["jobs run"]
    extra = {"latency_ms": api, "baseline_ms": cli}
    note = f"n={api['n']}" + (f", {api['not_ok']} runs not ok" if api["not_ok"] else "")
    return [
        Figure("api", f"cron.run -> shell started p50 ({tag})", api["p50"], "ms", cli["p50"],
               "jobs run -> started p50", "", None, extra=extra),
        Figure("api", f"cron.run -> shell started p99 ({tag})", api["p99"], "ms", cli["p99"],
               "jobs run -> started p99", "p99 <= jobs run -> started p99", api["p99"] <= cli["p99"],
               note=note + "; from the client's send instant (includes the request)", extra=extra),
    ]


def run(env: Env, count: int, spacing: float) -> list[Figure]:
    env.clear()
    token = uuid.uuid4().hex
    [probe] = bulk_jobs(env.store, 1, shell_spec(name="api probe", payload_message=SHELL_STAMP,
                                                 overlap_policy="allow"), not_due())
    beat = env.start_beat()
    server, url = serve(env, token)
    try:
        samples = measure(env, url, token, probe, count, spacing)
        started = started_latency(env, samples)
    finally:
        env.stop(server)
        env.stop(beat)
    stats = {route: percentiles(ms) for route, ms in samples.ms.items()}
    return _request_figures(env.db, stats) + _started_figures(env.db, started)
