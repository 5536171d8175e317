"""The burst's claim + send, in this process, with no worker competing for the CPU.

``python -m bench.burst_profile --db postgresql --n 10000 [--repeat 3] [--pyinstrument out.txt]``

The burst benchmark (``bench/burst.py``) times the whole thing while the worker pool already runs the first
runs; this splits the beat's own cost into claiming (SQL) and sending (Redis), which is what
bench/README.md's "Where the time goes" quotes. N jobs are made due, then one ``SQLScheduler.dispatch_due``
claims and sends all of them; the queue is checked to hold N messages and emptied between repeats.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .harness import DEFAULT_PG_URL, DEFAULT_REDIS_URL, Env, bulk_jobs, not_due, postgres_available, shell_spec

if TYPE_CHECKING:
    from clawsched.beat.scheduler import SQLScheduler


def measure(env: Env, count: int, repeat: int, profile_to: Path | None) -> list[dict[str, float]]:
    sending = [0.0]
    bulk_jobs(env.store, count, shell_spec(name="burst", schedule_every_ms=3_600_000), not_due())
    beat = _timed_beat(env, sending)
    profiler: Any = None
    if profile_to is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
    try:
        results = [_dispatch_once(env, beat, sending, count, profiler) for _ in range(repeat)]
    finally:
        beat.close()
    if profiler is not None and profile_to is not None:
        profile_to.write_text(profiler.output_text(unicode=False, color=False))
    return results


def _timed_beat(env: Env, sending: list[float]) -> SQLScheduler:
    """Sending is timed inside ``send`` because claims and sends interleave batch by batch within one
    ``dispatch_due``; claiming is the rest of the total. ``sending[0]`` accumulates the seconds."""
    from bench.celeryapp import make_app
    from clawsched.beat.scheduler import SQLScheduler

    class TimedScheduler(SQLScheduler):
        def send(self, run_ids: list[str]) -> None:
            t0 = time.perf_counter()
            super().send(run_ids)
            sending[0] += time.perf_counter() - t0

    return TimedScheduler(make_app(env.settings), lazy=False)


def _dispatch_once(env: Env, beat: SQLScheduler, sending: list[float], count: int,
                   profiler: Any) -> dict[str, float]:
    """Every job is made due again and the queue emptied after, so each repeat claims and sends the same N
    fires from the same state; the profiler covers only ``dispatch_due``, not that preparation."""
    from sqlalchemy import update

    from clawsched.sched.store.models import Job, utcnow

    queue_key = f"{env.settings.namespace}:{env.settings.run_queue('shell')}"
    with env.store.session() as s:
        s.execute(update(Job).values(next_run_at=utcnow() - timedelta(seconds=1)))
    env.analyze()
    sending[0] = 0.0
    if profiler is not None:
        profiler.start()
    t0 = time.perf_counter()
    sent = beat.dispatch_due()
    total = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
    queued = int(env.redis.llen(queue_key))
    env.redis.delete(queue_key)
    if sent != count or queued != count:
        raise RuntimeError(f"sent {sent}, queued {queued}, expected {count}")
    return {"total_s": total, "claim_s": total - sending[0], "send_s": sending[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyinstrument", type=Path, metavar="TXT", help="profile the repeats into this file")
    parser.add_argument("--redis-url", default=os.environ.get("CLAWSCHED_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--pg-url", default=os.environ.get("CLAWSCHED_BENCH_DATABASE_URL", DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    if args.db == "postgresql" and (why := postgres_available(args.pg_url)):
        parser.error(why)
    env = Env(args.db, args.redis_url, args.pg_url, label="bp")
    try:
        for r in measure(env, args.n, args.repeat, args.pyinstrument):
            print(f"{args.db} {args.n:,} fires: claim {r['claim_s']:.2f} s + send {r['send_s']:.2f} s "
                  f"= {r['total_s']:.2f} s")
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
