"""1. Dispatch latency: due instant -> shell process started, and ``jobs run`` -> shell process started.

A few probe jobs (``every``, anchored so their fires interleave ``spacing`` apart) fire among N-probes
filler jobs that are enabled but not due, so the fleet stays idle between fires. Each probe runs
``echo $EPOCHREALTIME``: the shell's own clock reading is the "started" instant, compared with the run's
``scheduled_for`` (due instant) or ``created_at`` (the ``jobs run`` call). The first few fires are
discarded as warm-up (connection set-up in fresh worker processes). Baseline: a bare Celery task sent
with ``apply_async`` to the same worker; queue -> body start.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from .harness import SHELL_STAMP, Env, Figure, bulk_jobs, epoch, not_due, percentiles, shell_spec, wait_until

WARMUP = 5
PROBES = 5


def bare_celery_latency(env: Env, count: int, spacing: float) -> dict[str, float]:
    from bench.celeryapp import KEY_PREFIX, make_app

    app = make_app(env.settings)
    key = f"{env.settings.namespace}:{KEY_PREFIX}:lat:{uuid.uuid4().hex[:6]}"
    with app.producer_or_acquire() as producer:
        for _ in range(count + WARMUP):
            app.send_task("bench.stamp", args=[time.time(), key], queue=env.settings.queue, producer=producer)
            time.sleep(spacing)
    wait_until(lambda: env.redis.llen(key) >= count + WARMUP, 60, "bare Celery tasks")
    values = [float(v) for v in env.redis.lrange(key, 0, -1)][WARMUP:]
    return {k: v * 1000 for k, v in percentiles(values).items() if k != "n"} | {"n": len(values)}


def stamped(run: Any) -> float | None:
    try:
        return float((run.shell_stdout or "").strip())
    except ValueError:
        return None


def stages_of(rows: list[Any], origin: str) -> dict[str, dict[str, float]]:
    """Where the latency goes, from the rows' own instants: claimed (run row written), started
    (worker marked it running), shell (the probe's clock). ``origin`` is the column the latency runs from."""
    stages: dict[str, list[float]] = {"claim": [], "queue+start": [], "spawn": []}
    for r in rows:
        stamp, t0 = stamped(r), epoch(getattr(r, origin))
        if stamp is None or r.started_at is None:
            continue
        claimed = epoch(r.created_at) if origin == "scheduled_for" else t0
        stages["claim"].append((claimed - t0) * 1000)
        stages["queue+start"].append((epoch(r.started_at) - claimed) * 1000)
        stages["spawn"].append((stamp - epoch(r.started_at)) * 1000)
    return {k: {p: v for p, v in percentiles(vals).items() if p in ("p50", "p99")} for k, vals in stages.items()}


def stage_note(stages: dict[str, dict[str, float]]) -> str:
    return "p50/p99 ms: " + ", ".join(f"{k} {v['p50']:.1f}/{v['p99']:.1f}" for k, v in stages.items())


def scheduled_latency(env: Env, total_jobs: int, fires: int, spacing: float) -> tuple[dict[str, Any], str]:
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.models import Job, Run, utcnow

    probes = min(PROBES, total_jobs)
    bulk_jobs(env.store, total_jobs - probes, shell_spec(name="filler"), not_due(), spread=timedelta(seconds=1))
    interval_ms = int(round(spacing * probes * 1000))
    anchor = utcnow() + timedelta(seconds=1.5)
    ids = []
    for k in range(probes):
        spec = shell_spec(name=f"probe {k}", payload_message=SHELL_STAMP, schedule_every_ms=interval_ms,
                          schedule_anchor=(anchor + timedelta(seconds=spacing * k)).isoformat(), overlap_policy="allow")
        ids += bulk_jobs(env.store, 1, spec, anchor + timedelta(seconds=spacing * k))
    env.analyze()
    notify(env.redis, env.settings, "bench")
    wanted = fires + WARMUP

    def done() -> list[Any] | None:
        with env.store.read() as s:
            rows = list(s.scalars(select(Run).where(Run.job_id.in_(ids), Run.finished_at.is_not(None))))
        return rows if len(rows) >= wanted else None

    rows = wait_until(done, wanted * spacing * 3 + 60, f"{wanted} scheduled fires", poll=0.25)
    with env.store.session() as s:
        s.execute(update(Job).where(Job.id.in_(ids)).values(enabled=False))
    rows.sort(key=lambda r: r.scheduled_for)
    lat = [(stamped(r) or float("nan")) - epoch(r.scheduled_for) for r in rows[WARMUP:wanted]]
    bad = [r.status for r in rows if r.status != "ok"]
    result = {k: v * 1000 for k, v in percentiles(lat).items() if k != "n"} | {"n": len(lat)}
    return result | {"not_ok": len(bad), "stages": stages_of(rows[WARMUP:wanted], "scheduled_for")}, ids[0]


def manual_latency(env: Env, job_id: str, count: int, spacing: float) -> dict[str, Any]:
    from clawsched.sched import jobs
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.models import Run

    for _ in range(count + WARMUP):
        jobs.run_now(env.store, job_id)
        notify(env.redis, env.settings, "run now")  # what `clawsched jobs run` does
        time.sleep(spacing)

    def done() -> list[Any] | None:
        with env.store.read() as s:
            rows = list(s.scalars(select(Run).where(Run.job_id == job_id, Run.trigger == "manual",
                                                    Run.finished_at.is_not(None))))
        return rows if len(rows) >= count + WARMUP else None

    rows = sorted(wait_until(done, 120, "manual runs", poll=0.25), key=lambda r: r.created_at)
    lat = [(stamped(r) or float("nan")) - epoch(r.created_at) for r in rows[WARMUP:]]
    return ({k: v * 1000 for k, v in percentiles(lat).items() if k != "n"} | {"n": len(lat)}
            | {"stages": stages_of(rows[WARMUP:], "created_at")})


def run(env: Env, job_counts: list[int], fires: int, manual: int, spacing: float) -> list[Figure]:
    figures: list[Figure] = []
    for total in job_counts:
        env.clear()
        beat = env.start_beat()
        try:
            base = bare_celery_latency(env, fires, spacing / 3)
            due, probe = scheduled_latency(env, total, fires, spacing)
            man = manual_latency(env, probe, manual, spacing)
        finally:
            env.stop(beat)
        tag = f"{env.db}, {total:,} jobs"
        for label, res in (("due -> started", due), ("jobs run -> started", man)):
            extra = {"latency_ms": res, "baseline_ms": base, "jobs": total}
            figures.append(Figure("dispatch", f"{label} p50 ({tag})", res["p50"], "ms", base["p50"],
                                  "bare Celery apply_async -> start p50", "p50 <= 10x baseline",
                                  res["p50"] <= 10 * base["p50"], extra=extra))
            figures.append(Figure("dispatch", f"{label} p95 ({tag})", res["p95"], "ms", base["p95"],
                                  "bare Celery p95", "", None, note=stage_note(res["stages"]), extra=extra))
            figures.append(Figure("dispatch", f"{label} p99 ({tag})", res["p99"], "ms", base["p99"],
                                  "bare Celery p99", "p99 <= 50 ms", res["p99"] <= 50.0,
                                  note=f"n={res['n']}" + (f", {res.get('not_ok')} not ok" if res.get("not_ok") else ""),
                                  extra=extra))
    return figures
