"""``cron.*``: OpenClaw's cron tool (status, list, add, update, remove, run, runs, wake) on clawsched's jobs.

Each handler calls the service the CLI calls (``sched.jobs``, ``sched.runs``) and wakes the beats after a
change, as the CLI does. Job objects are the cron tool's JSON (``sched.specs`` reads that dialect), made
canonical first by ``canonical`` (nesting, flat-params recovery, OpenClaw's spellings).
"""

from __future__ import annotations

from typing import Any

from clawsched.sched import jobs, readiness, runs
from clawsched.sched.errors import SpecError
from clawsched.sched.specs import cron_tool as canonical

from . import views
from .args import CronAdd, CronList, CronRun, CronRuns, CronUpdate, CronWake, JobRef, NoArgs
from .base import Context, Tool, spec_errors_under

WAKE_ORIGIN = "cron.wake"
WAKE_TTL_HOURS = 24  # a wake's one-shot job (and its run) is pruned a day after it ran


def status(ctx: Context, args: NoArgs) -> dict[str, Any]:
    due = jobs.next_due(ctx.store)
    return {"enabled": True, "jobs": jobs.count(ctx.store), "runs": runs.count_by_status(ctx.store),
            "running": len(runs.running(ctx.store)), "nextWakeAt": views.instant(due),
            "nextWakeAtMs": views.epoch_ms(due), "ready": readiness.check(ctx.runtime.settings, ctx.store)}


def list_jobs(ctx: Context, args: CronList) -> dict[str, Any]:
    page = jobs.page(ctx.store, enabled=None if args.includeDisabled else True, limit=args.limit,
                     offset=args.offset)
    return {"jobs": [views.job(j) for j in page.rows], "total": page.total, "limit": page.limit,
            "offset": page.offset}


def get(ctx: Context, args: JobRef) -> dict[str, Any]:
    return {"job": views.job(jobs.get(ctx.store, args.jobId))}


def add(ctx: Context, args: CronAdd) -> dict[str, Any]:
    raw = {**(args.model_extra or {}), "job": args.job}
    job, where = canonical.job_object(raw, "job")
    if where is None and not canonical.has_create_signal(job):
        raise SpecError("job: is required: a job object with a schedule and a payload (or its fields beside "
                        "`action`)", field="job")
    spec = canonical.canonical(job, now=ctx.now, session_key=ctx.session_key)
    created = spec_errors_under(where, lambda: jobs.create(ctx.store, spec, now=ctx.now, dry_run=ctx.dry_run,
                                                                    actor=ctx.actor))
    ctx.wake("job added")
    return {"job": views.job(created), "jobId": created.id, "dryRun": ctx.dry_run}


def update(ctx: Context, args: CronUpdate) -> dict[str, Any]:
    raw = {k: v for k, v in {**(args.model_extra or {}), "patch": args.patch}.items() if k != "jobId"}
    patch, where = canonical.job_object(raw, "patch")
    if not patch:
        raise SpecError("patch: is required: the fields to change, e.g. {\"enabled\": false}", field="patch")
    patch = canonical.canonical(patch, now=ctx.now, session_key=ctx.session_key, create=False)
    changed = spec_errors_under(where, lambda: jobs.update(ctx.store, args.jobId, patch, now=ctx.now,
                                                           dry_run=ctx.dry_run, actor=ctx.actor))
    ctx.wake("job updated")
    return {"job": views.job(changed), "jobId": changed.id, "dryRun": ctx.dry_run}


def remove(ctx: Context, args: JobRef) -> dict[str, Any]:
    deleted = jobs.delete_job(ctx.store, args.jobId, actor=ctx.actor)
    ctx.wake("job removed")
    return {"removed": True, "jobId": args.jobId, "deleted": deleted}


def run(ctx: Context, args: CronRun) -> dict[str, Any]:
    """``force`` queues a manual run; ``due`` only makes sure a job that is due fires now (its own fire,
    claimed by the beat, so it never runs twice)."""
    if args.runMode == "due":
        job = jobs.get(ctx.store, args.jobId)
        due = bool(job.enabled and job.next_run_at is not None and job.next_run_at <= ctx.now)
        if due:
            ctx.wake("due run")
        return {"enqueued": False, "jobId": job.id, "due": due,
                "reason": "due: the beat starts its scheduled fire now" if due else "not-due"}
    run_id = jobs.run_now(ctx.store, args.jobId, now=ctx.now)
    return {"enqueued": True, "runId": run_id, "jobId": args.jobId, "beatWoken": ctx.start(run_id, "run now")}


def history(ctx: Context, args: CronRuns) -> dict[str, Any]:
    page = runs.search(ctx.store, job_id=args.jobId, limit=args.limit, offset=args.offset)
    return {"jobId": args.jobId, "runs": [views.run(r) for r in page.rows], "total": page.total,
            "limit": page.limit, "offset": page.offset}


def wake(ctx: Context, args: CronWake) -> dict[str, Any]:
    """A system event into the agent's main session, sent by a worker (the call never waits on the
    gateway): a one-shot ``main`` job, disabled so it never fires by itself, and one run of it now."""
    spec = {"name": f"wake: {canonical.short_name(args.text)}",
            "session_target": "main", "payload_kind": "systemEvent", "payload_message": args.text,
            "wake_mode": args.mode, "agent_id": args.agentId, "enabled": False, "schedule_kind": "at",
            "schedule_at": ctx.now.isoformat(), "delivery_mode": "none", "origin": WAKE_ORIGIN,
            "ttl_hours": WAKE_TTL_HOURS}
    job = jobs.create(ctx.store, spec, now=ctx.now, dry_run=ctx.dry_run)
    if ctx.dry_run:
        return {"enqueued": False, "jobId": job.id, "mode": args.mode, "dryRun": True}
    run_id = jobs.run_now(ctx.store, job.id, now=ctx.now)
    woken = ctx.start(run_id, "wake")
    return {"enqueued": True, "runId": run_id, "jobId": job.id, "mode": args.mode, "beatWoken": woken}


TOOLS = (
    Tool("cron.status", "The scheduler's state: job and run counts, what is running, when the beat fires next, "
         "and whether the database, Redis, beats and workers are up.", NoArgs, status),
    Tool("cron.list", "List jobs (enabled ones unless includeDisabled), oldest first, with paging.", CronList,
         list_jobs),
    Tool("cron.get", "One job with every field.", JobRef, get),
    Tool("cron.add", "Create a job from OpenClaw cron-tool JSON ({job: {name, schedule, payload, sessionTarget, "
         "delivery, ...}}, or the job's fields beside `action`) or clawsched's flat JSON.", CronAdd, add),
    Tool("cron.update", "Change a job: jobId and a patch in the same shape (or the fields beside jobId); the "
         "merged job is validated as a whole.", CronUpdate, update),
    Tool("cron.remove", "Delete a job with its runs and its chain children.", JobRef, remove),
    Tool("cron.run", "Run a job now (also a disabled one); answers {enqueued, runId}. runMode 'due' only "
         "starts a job that is due.", CronRun, run, promote=("enqueued", "runId")),
    Tool("cron.runs", "A job's runs, newest first, each with its outcome (status, finished, summary, exit "
         "code, duration).", CronRuns, history),
    Tool("cron.wake", "Send a system event to an agent's main session (mode 'now' or 'next-heartbeat'); a "
         "worker sends it, the call answers at once with the run's id.", CronWake, wake,
         promote=("enqueued", "runId")),
)
