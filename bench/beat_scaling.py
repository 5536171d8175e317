"""5. Beat scaling: CPU time and memory of a ``clawsched beat`` process at 100, 10 000, 100 000 and
1 000 000 jobs (``Sizes.beat_jobs``) with a fixed number due (``DUE_JOBS`` jobs every second). After a
warm-up, CPU (user+system) is sampled over ``window`` seconds and scaled to a minute; RSS is read at the
end. The baseline of each figure is the same measurement at the smallest job count, in the same run: work
should follow what is due, not what exists. Plus the plans of the beat's two queries on the jobs table,
on the largest table: the due query (``claims.due_fires_query``) and the next-due query the beat sleeps
by (``claims.next_due_at``); each must walk ``ix_jobs_due`` in order (no sort). On PostgreSQL the plan
is ``EXPLAIN ANALYZE`` (in a transaction rolled back), so it shows the rows actually read.

The jobs are loaded by the store's bulk verb (``sched/store/bulk.py``: ``COPY`` on PostgreSQL), not
through ``jobs add``: a million jobs load in well under a minute.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from .harness import Env, Figure, bulk_jobs, not_due, shell_spec

DUE_JOBS = 5


def beat_queries(env: Env) -> list[tuple[str, Any]]:
    """The beat's queries on ``jobs``: the due query as ``claims`` builds it, and ``claims.next_due_at``'s."""
    from sqlalchemy import select

    from clawsched.sched.store import claims
    from clawsched.sched.store.models import JOBS, utcnow

    next_due = (select(JOBS.c.next_run_at).where(JOBS.c.enabled.is_(True), JOBS.c.next_run_at.is_not(None))
                .order_by(JOBS.c.next_run_at).limit(1))  # as claims.next_due_at writes it
    return [("due query", claims.due_fires_query(env.db, utcnow(), env.settings.beat_batch_size)),
            ("next-due query", next_due)]


def query_plan(env: Env, label: str, query: Any) -> dict[str, Any]:
    compiled = query.compile(dialect=env.store.engine.dialect)
    params = compiled.construct_params()
    for name, process in compiled._bind_processors.items():  # as Core sends them: naive UTC instants
        params[name] = process(params[name])
    with env.store.engine.connect() as conn:
        trans = conn.begin()
        try:
            if env.db == "postgresql":
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), params).all()
                plan = "\n".join(r[0] for r in rows)
            else:
                ordered = tuple(params[k] for k in compiled.positiontup or [])
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), ordered).all()
                plan = "\n".join(str(r[-1]) for r in rows)
        finally:
            trans.rollback()  # EXPLAIN ANALYZE ran the due query's FOR UPDATE
    walks = "ix_jobs_due" in plan and "Sort" not in plan and "TEMP B-TREE" not in plan.upper()
    return {"check": f"{label} walks ix_jobs_due", "query": label, "index": "ix_jobs_due", "sql": str(compiled),
            "plan": plan, "uses_index": walks}


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


def measure(env: Env, total: int, window: float, warmup: float) -> dict[str, Any]:
    from clawsched.sched.store.models import utcnow

    env.clear()
    t0 = time.perf_counter()
    bulk_jobs(env.store, total - DUE_JOBS, shell_spec(name="idle"), not_due(), spread=timedelta(seconds=1))
    seed_s = time.perf_counter() - t0
    bulk_jobs(env.store, DUE_JOBS, shell_spec(name="due", schedule_every_ms=1000, overlap_policy="allow"),
              utcnow() + timedelta(seconds=1))
    env.analyze()
    beat = env.start_beat()
    try:
        time.sleep(warmup)  # a fixed measurement window, not synchronisation
        cpu0, _ = _sample(beat)
        t0 = time.monotonic()
        time.sleep(window)
        cpu1, rss = _sample(beat)
        elapsed = time.monotonic() - t0
    finally:
        env.stop(beat)
    return {"jobs": total, "cpu_s_per_min": (cpu1 - cpu0) * 60 / elapsed, "rss_mb": rss / 2**20,
            "window_s": elapsed, "seed_s": seed_s}


def run(env: Env, job_counts: list[int], window: float, warmup: float) -> tuple[list[Figure], list[dict[str, Any]]]:
    results = [measure(env, n, window, warmup) for n in job_counts]
    # the table still holds the largest job count
    plans = [{"db": env.db, "jobs": job_counts[-1], **query_plan(env, label, q)} for label, q in beat_queries(env)]
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
            res["rss_mb"] <= 1.5 * base["rss_mb"] if largest else None,
            note=f"{res['jobs'] - DUE_JOBS:,} idle jobs loaded in {res['seed_s']:.1f} s", extra=res))
    return figures, plans
