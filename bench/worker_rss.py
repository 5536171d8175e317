"""7. Worker memory: the resident set of each process of a ``clawsched worker`` (its main process and each
prefork pool process) after ``total`` trivial shell runs, beside the same processes after ``base`` runs.

A leak per run (a cache keyed by run, a list of outcomes, a statement cache that grows) shows as growth
between the two readings; what a process holds once warm (imports, connections, compiled statements)
is in both. It runs first on the worker the suite starts, so both readings are of processes that have
run nothing but these runs. The runs are manual runs of one job, inserted ``pending`` and sent by a real
``clawsched beat``; each reading is taken once every run so far has finished, while the pool is idle.
The pool never replaces its processes (no ``max_tasks_per_child``), which the bench checks: a process
replaced between the readings would hide a leak, so the figure then fails with a note.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .harness import Env, Figure, bulk_jobs, shell_spec, wait_until


def processes(worker: Any) -> dict[str, Any]:
    """The worker's main process and its pool processes (not the shells' sentinels, which are children of
    each process too, but run ``workers/executors/orphans.py``)."""
    import psutil

    main = psutil.Process(worker.pid)
    pool = [c for c in main.children() if not any("orphans" in part for part in c.cmdline())]
    return {"main": main, "pool": pool}


def readings(worker: Any) -> dict[str, Any]:
    procs = processes(worker)
    return {"main_mb": procs["main"].memory_info().rss / 2**20,
            "pool_mb": {p.pid: p.memory_info().rss / 2**20 for p in procs["pool"]}}


def run_many(env: Env, job_id: str, count: int) -> None:
    """``count`` manual runs of ``job_id``, inserted pending in one load; returns when all have finished."""
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.states import Trigger
    from clawsched.sched.store.bulk import insert_rows
    from clawsched.sched.store.models import JOBS, RUNS, Run, new_id, utcnow
    from clawsched.sched.store.run_rows import new_run

    with env.store.read() as s:
        before = s.scalar(select(func.count()).where(Run.finished_at.is_not(None))) or 0
        timeout_ms = s.scalar(select(JOBS.c.run_timeout_ms).where(JOBS.c.id == job_id))
    common = new_run(job_id, timeout_ms, trigger=Trigger.MANUAL, now=utcnow())
    del common["id"]
    insert_rows(env.store, RUNS, common, ({"id": new_id()} for _ in range(count)))
    notify(env.redis, env.settings, "bench")

    def finished() -> bool:
        with env.store.read() as s:
            return bool(s.scalar(select(func.count()).where(Run.finished_at.is_not(None))) >= before + count)

    wait_until(finished, 60 + count / 10, f"{count} runs to finish", poll=0.2)


def run(env: Env, total: int, base: int) -> list[Figure]:
    if env.worker is None:
        raise RuntimeError("the worker bench measures the suite's worker; start it first (Env.start_worker)")
    env.clear()
    (job_id,) = bulk_jobs(env.store, 1, shell_spec(name="rss", enabled=False, overlap_policy="allow"), None)
    beat = env.start_beat()
    try:
        run_many(env, job_id, base)
        first = readings(env.worker)
        run_many(env, job_id, total - base)
        last = readings(env.worker)
    finally:
        env.stop(beat)
    return _figures(env, total, base, first, last)


def _figures(env: Env, total: int, base: int, first: dict[str, Any], last: dict[str, Any]) -> list[Figure]:
    same_pool = set(first["pool_mb"]) == set(last["pool_mb"])
    extra = {"after_base": first, "after_total": last, "base_runs": base, "total_runs": total,
             "same_pool_processes": same_pool}
    pool_now, pool_then = max(last["pool_mb"].values()), max(first["pool_mb"].values())
    per = ", ".join(f"{last['pool_mb'][pid]:.1f} (was {first['pool_mb'].get(pid, float('nan')):.1f})"
                    for pid in sorted(last["pool_mb"]))
    replaced = "" if same_pool else "; POOL PROCESSES WERE REPLACED between the readings"
    return [
        Figure("worker", f"worker pool process RSS MB after {total:,} runs ({env.db})", pool_now, "MB", pool_then,
               f"same processes after {base:,} runs", "<= 1.1x baseline", same_pool and pool_now <= 1.1 * pool_then,
               note=f"largest of {len(last['pool_mb'])}; each: {per}{replaced}", extra=extra),
        Figure("worker", f"worker main process RSS MB after {total:,} runs ({env.db})", last["main_mb"], "MB",
               first["main_mb"], f"same process after {base:,} runs", "<= 1.1x baseline",
               last["main_mb"] <= 1.1 * first["main_mb"], extra=extra),
    ]
