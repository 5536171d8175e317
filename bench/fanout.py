"""6. Fan-out: N jobs due on the same second (many cron jobs sharing ``0 * * * *``), due -> started.

N shell jobs that print ``echo $EPOCHREALTIME`` are made due at one instant T by one UPDATE, while a
real ``clawsched beat`` runs; each run's lateness is the shell's own clock reading minus T (its
``scheduled_for``). Most of it is the wait for one of the pool's processes: with 2 of them, the last of
200 runs starts after 199 others have run. That wait is the same for any scheduler on the same pool, so
the figure is compared with one that has it too.

Baseline, in the same run and on the same worker pool (same concurrency): bare Celery receiving N tasks
at once. At T the bench sends N ``bench.shell_stamp`` tasks on one producer (what a beat does at the top
of the hour), each running the same subprocess; lateness is that subprocess's clock reading minus T.
The two sides alternate round by round, so a neighbour's burst on a shared machine hits both alike.

Before the first N, one round of each side is run and discarded: the first run in a fresh pool process
pays its set-up (its database connection, its orphan sentinel: 130-220 ms on PostgreSQL), which is no
part of a fan-out's cost.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from .dispatch import stage_note, stages_of, stamped
from .harness import SHELL_STAMP, Env, Figure, bulk_jobs, epoch, not_due, percentiles, shell_spec, wait_until

LEAD_S = 0.3  # T is this far ahead of the UPDATE: the beat has had its wake-up and sleeps until T


def _due() -> float:
    return time.time() + LEAD_S


def bare_celery_round(env: Env, n: int) -> list[float]:
    """Seconds from T to each bare task's subprocess start, N tasks sent at T."""
    from bench.celeryapp import KEY_PREFIX, make_app

    app = make_app(env.settings)
    key = f"{env.settings.namespace}:{KEY_PREFIX}:fan:{uuid.uuid4().hex[:6]}"
    due = _due()
    with app.producer_or_acquire() as producer:
        time.sleep(max(0.0, due - time.time()))  # sending at T is what is measured, not synchronisation
        for _ in range(n):
            app.send_task("bench.shell_stamp", args=[SHELL_STAMP, due, key], queue=env.settings.queue,
                          producer=producer)
    wait_until(lambda: env.redis.llen(key) >= n, 60 + n / 5, f"{n} bare fan-out tasks", poll=0.05)
    values = [float(v) for v in env.redis.lrange(key, 0, -1)]
    env.redis.delete(key)
    return values


def clawsched_round(env: Env, n: int) -> list[Any]:
    """The runs of N jobs due at T, once all have finished."""
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.models import Job, Run

    due = datetime.fromtimestamp(_due(), UTC)
    with env.store.session() as s:
        s.execute(update(Job).values(next_run_at=due))
    notify(env.redis, env.settings, "fan-out")  # what `jobs add`/`jobs edit` do after a write

    def finished() -> bool:
        with env.store.read() as s:
            return bool(s.scalar(select(func.count()).where(Run.scheduled_for == due, Run.finished_at.is_not(None)))
                        >= n)

    wait_until(finished, 60 + n / 5, f"{n} fan-out runs", poll=0.05)
    with env.store.read() as s:
        return list(s.scalars(select(Run).where(Run.scheduled_for == due)))


def measure(env: Env, n: int, rounds: int, warmup: bool) -> dict[str, Any]:
    env.clear()
    bulk_jobs(env.store, n, shell_spec(name="fan-out", payload_message=SHELL_STAMP), not_due())
    env.analyze()
    if warmup:
        bare_celery_round(env, n)
        clawsched_round(env, n)
    runs: list[Any] = []
    bare: list[float] = []
    for _ in range(rounds):
        bare += bare_celery_round(env, n)
        runs += clawsched_round(env, n)
    ours = [(stamped(r) or float("nan")) - epoch(r.scheduled_for) for r in runs]
    return {"n": n, "rounds": rounds, "not_ok": sum(1 for r in runs if r.status != "ok"), "clawsched_ms": _ms(ours),
            "bare_celery_ms": _ms(bare), "stages": stages_of(runs, "scheduled_for")}


def _ms(seconds: list[float]) -> dict[str, float]:
    return {k: v if k == "n" else v * 1000 for k, v in percentiles(seconds).items()}


def run(env: Env, sizes: list[int], rounds: int) -> list[Figure]:
    beat = env.start_beat()
    try:
        results = [measure(env, n, rounds, warmup=i == 0) for i, n in enumerate(sizes)]
    finally:
        env.stop(beat)
    figures = []
    for res in results:
        ours, base, n = res["clawsched_ms"], res["bare_celery_ms"], res["n"]
        tag = f"{n:,} jobs due on one second, {env.db}"
        note = f"n={ours['n']} over {res['rounds']} rounds" + (f", {res['not_ok']} not ok" if res["not_ok"] else "")
        figures.append(Figure("fanout", f"fan-out due -> started p50 ({tag})", ours["p50"], "ms", base["p50"],
                              f"bare Celery, {n:,} tasks sent at once, p50", "", None,
                              note=stage_note(res["stages"]), extra=res))
        figures.append(Figure("fanout", f"fan-out due -> started p99 ({tag})", ours["p99"], "ms", base["p99"],
                              f"bare Celery, {n:,} tasks sent at once, p99", "p99 <= 1.5x baseline",
                              ours["p99"] <= 1.5 * base["p99"], note=note, extra=res))
    return figures
