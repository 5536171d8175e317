"""3. Chain hop (parent finished -> child shell started) and approval -> started.

Both need the workflow engine (``clawsched.workers.post_run.chains``, ``clawsched.sched.approvals``). Until it
exists the figures are reported as not available. The chain hop uses only the job spec fields the
foundation already has (``parent_id``, ``trigger_on``): a parent running ``true`` is started by hand
``count`` times; each child prints ``$EPOCHREALTIME``, compared with its parent's ``finished_at``.
Baseline: a bare Celery task's queue -> start on the same worker (a hop is at least one such send).
"""

from __future__ import annotations

import importlib.util
import time

from sqlalchemy import select

from .dispatch import WARMUP, bare_celery_latency
from .harness import SHELL_STAMP, Env, Figure, epoch, percentiles, shell_spec, unavailable, wait_until


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def chain_hop(env: Env, count: int, spacing: float) -> dict[str, float]:
    from clawsched.sched import jobs
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.models import Run

    parent = jobs.create(env.store, shell_spec(name="parent", enabled=False, overlap_policy="allow"))
    child = jobs.create(env.store, shell_spec(name="child", payload_message=SHELL_STAMP, parent_id=parent.id,
                                              trigger_on="success", schedule_kind=None, schedule_every_ms=None,
                                              overlap_policy="allow"))
    for _ in range(count + WARMUP):
        jobs.run_now(env.store, parent.id)
        notify(env.redis, env.settings, "run now")
        time.sleep(spacing)

    def done() -> list[tuple[Run, Run]] | None:
        with env.store.read() as s:
            kids = list(s.scalars(select(Run).where(Run.job_id == child.id, Run.finished_at.is_not(None))))
            parents = {r.id: r for r in s.scalars(select(Run).where(Run.job_id == parent.id))}
        pairs = [(parents[k.triggered_by_run], k) for k in kids if k.triggered_by_run in parents]
        return pairs if len(pairs) >= count + WARMUP else None

    pairs = sorted(wait_until(done, 120, "chained child runs", poll=0.25), key=lambda p: p[0].created_at)
    lat = [float((k.shell_stdout or "nan").strip()) - epoch(p.finished_at) for p, k in pairs[WARMUP:]]
    return {k: v * 1000 for k, v in percentiles(lat).items() if k != "n"} | {"n": len(lat)}


def approval_latency(env: Env, count: int, spacing: float) -> dict[str, float]:
    """A gated child waits in ``awaiting_approval``; ``approvals.approve`` (what ``jobs approve`` calls, with
    its beat wake-up) -> the child's shell started, one approval at a time."""
    from clawsched.sched import approvals, jobs
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.models import Approval, Run

    parent = jobs.create(env.store, shell_spec(name="gate parent", enabled=False, overlap_policy="allow"))
    child = jobs.create(env.store, shell_spec(name="gated", payload_message=SHELL_STAMP, parent_id=parent.id,
                                              trigger_on="success", schedule_kind=None, schedule_every_ms=None,
                                              overlap_policy="allow", approval_required=True,
                                              max_pending_approvals=count + WARMUP))
    for _ in range(count + WARMUP):
        jobs.run_now(env.store, parent.id)
    notify(env.redis, env.settings, "run now")

    def waiting() -> bool:
        with env.store.read() as s:
            rows = s.scalars(select(Run.id).where(Run.job_id == child.id, Run.status == "awaiting_approval")).all()
        return len(rows) >= count + WARMUP

    wait_until(waiting, 120, "gated children to await approval", poll=0.25)
    for _ in range(count + WARMUP):
        approvals.approve(env.store, child.id, by="bench", wake=lambda: notify(env.redis, env.settings, "approved"))
        time.sleep(spacing)

    def done() -> list[tuple[Approval, Run]] | None:
        with env.store.read() as s:
            kids = {r.id: r for r in s.scalars(select(Run).where(Run.job_id == child.id, Run.finished_at.is_not(None)))}
            decided = list(s.scalars(select(Approval).where(Approval.job_id == child.id,
                                                            Approval.resolved_at.is_not(None))))
        pairs = [(a, kids[a.run_id]) for a in decided if a.run_id in kids]
        return pairs if len(pairs) >= count + WARMUP else None

    pairs = sorted(wait_until(done, 120, "approved children to run", poll=0.25), key=lambda p: p[0].resolved_at)
    lat = [float((k.shell_stdout or "nan").strip()) - epoch(a.resolved_at) for a, k in pairs[WARMUP:]]
    return {k: v * 1000 for k, v in percentiles(lat).items() if k != "n"} | {"n": len(lat)}


def run(env: Env, count: int, spacing: float) -> list[Figure]:
    if not _has("clawsched.workers.post_run.chains") or not _has("clawsched.sched.approvals"):
        why = "not available: the workflow engine (workers.post_run.chains, sched.approvals) is missing"
        return [unavailable("chain", f"chain hop p99 ({env.db})", "ms", why, "p99 <= 50 ms"),
                unavailable("chain", f"approval -> started p99 ({env.db})", "ms", why, "p99 <= 200 ms")]
    env.clear()
    beat = env.start_beat()
    try:
        base = bare_celery_latency(env, count, spacing / 3)
        hop = chain_hop(env, count, spacing)
        gate = approval_latency(env, count, spacing)
    finally:
        env.stop(beat)
    extra = {"hop_ms": hop, "approval_ms": gate, "baseline_ms": base}
    return [
        Figure("chain", f"chain hop p50 ({env.db})", hop["p50"], "ms", base["p50"], "bare Celery p50", "", None,
               extra=extra),
        Figure("chain", f"chain hop p99 ({env.db})", hop["p99"], "ms", base["p99"], "bare Celery p99",
               "p99 <= 50 ms", hop["p99"] <= 50, note=f"n={hop['n']}", extra=extra),
        Figure("chain", f"approval -> started p50 ({env.db})", gate["p50"], "ms", base["p50"], "bare Celery p50",
               "", None, extra=extra),
        Figure("chain", f"approval -> started p99 ({env.db})", gate["p99"], "ms", base["p99"], "bare Celery p99",
               "p99 <= 200 ms", gate["p99"] <= 200, note=f"n={gate['n']}", extra=extra),
    ]
