"""5. Beat scaling: CPU time and memory of a ``clawsched beat`` process at 100, 10 000 and 100 000 jobs
with a fixed number due (``DUE_JOBS`` jobs every second). After a warm-up, CPU (user+system) is sampled
over ``window`` seconds and scaled to a minute; RSS is read at the end. The baseline of each figure is
the same measurement at the smallest job count, in the same run: work should follow what is due, not
what exists. Plus the due query's plan (EXPLAIN) on the largest table, which must use ``ix_jobs_due``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from .harness import Env, Figure, bulk_jobs, not_due, shell_spec

DUE_JOBS = 5
WARMUP_S = 3.0


def due_query_plan(env: Env) -> dict[str, Any]:
    """EXPLAIN of the beat's due-fires query exactly as ``claims.claim_due_fires`` builds it."""
    from sqlalchemy import select

    from clawsched.sched.store import claims
    from clawsched.sched.store.models import Job, utcnow

    q = (select(*claims.SCHEDULE_COLUMNS).where(Job.enabled.is_(True), Job.next_run_at <= utcnow())
         .order_by(Job.next_run_at).limit(env.settings.beat_batch_size))
    if env.db == "postgresql":
        q = q.with_for_update(skip_locked=True, of=Job)
    compiled = q.compile(dialect=env.store.engine.dialect)
    with env.store.engine.begin() as conn:
        if env.db == "postgresql":
            rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
            plan = "\n".join(r[0] for r in rows)
        else:
            params = tuple(str(compiled.params[k]) if not isinstance(compiled.params[k], int | bool)
                           else compiled.params[k] for k in compiled.positiontup or [])
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
            plan = "\n".join(str(r[-1]) for r in rows)
    return {"sql": str(compiled), "plan": plan, "uses_index": "ix_jobs_due" in plan}


def _sample(proc: Any) -> tuple[float, int]:
    import psutil

    p = psutil.Process(proc.pid)
    cpu = p.cpu_times()
    return _cpu_ns(proc.pid) / 1e9 if Path("/proc/self/schedstat").exists() else cpu.user + cpu.system, \
        p.memory_info().rss


def _cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` in nanoseconds (Linux schedstat): the clock-tick counters
    behind ``cpu_times`` round a short window of a quiet beat to zero."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended between the listing and the read
    return total


def measure(env: Env, total: int, window: float) -> dict[str, Any]:
    env.clear()
    bulk_jobs(env.store, total - DUE_JOBS, shell_spec(name="idle"), not_due(), spread=timedelta(seconds=1))
    from clawsched.sched.store.models import utcnow

    bulk_jobs(env.store, DUE_JOBS, shell_spec(name="due", schedule_every_ms=1000, overlap_policy="allow"),
              utcnow() + timedelta(seconds=1))
    env.analyze()
    beat = env.start_beat()
    try:
        time.sleep(WARMUP_S)  # a fixed measurement window, not synchronisation
        cpu0, _ = _sample(beat)
        t0 = time.monotonic()
        time.sleep(window)
        cpu1, rss = _sample(beat)
        elapsed = time.monotonic() - t0
    finally:
        env.stop(beat)
    return {"jobs": total, "cpu_s_per_min": (cpu1 - cpu0) * 60 / elapsed, "rss_mb": rss / 2**20,
            "window_s": elapsed}


def run(env: Env, job_counts: list[int], window: float) -> tuple[list[Figure], dict[str, Any]]:
    results = [measure(env, n, window) for n in job_counts]
    plan = due_query_plan(env)  # the table still holds the largest job count
    base = results[0]
    figures = []
    for res in results:
        largest = res is results[-1] and len(results) > 1
        figures.append(Figure(
            "beat", f"beat CPU s/min, {res['jobs']:,} jobs ({env.db})", res["cpu_s_per_min"], "s/min",
            base["cpu_s_per_min"], f"same at {base['jobs']:,} jobs", "<= 2x baseline" if largest else "",
            res["cpu_s_per_min"] <= 2 * base["cpu_s_per_min"] if largest else None,
            note=f"{DUE_JOBS} jobs due every second; {res['window_s']:.0f} s window", extra=res))
        figures.append(Figure(
            "beat", f"beat RSS MB, {res['jobs']:,} jobs ({env.db})", res["rss_mb"], "MB", base["rss_mb"],
            f"same at {base['jobs']:,} jobs", "<= 1.5x baseline" if largest else "",
            res["rss_mb"] <= 1.5 * base["rss_mb"] if largest else None, extra=res))
    return figures, {"db": env.db, "jobs": job_counts[-1], **plan}
