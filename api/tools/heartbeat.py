"""``heartbeat.*``: rules that wake an agent's main session on an interval.

A heartbeat rule is a job like any other — ``session_target: main``, a ``systemEvent`` payload, an
``every`` schedule — marked ``origin: "heartbeat"``, so ``heartbeat.list`` lists only these and the
``heartbeat.*`` tools refuse to touch other jobs. Its runs are ordinary runs (``cron.runs``,
``proactive.runs``); each sends the text to the main session through the gateway's wake hook.
"""

from __future__ import annotations

from typing import Any

from clawsched.sched import jobs
from clawsched.sched.errors import NotFound, SpecError
from clawsched.sched.specs import cron_tool as canonical
from clawsched.sched.store.models import Job

from . import views
from .args import HeartbeatAdd, HeartbeatFields, HeartbeatUpdate, JobRef, NoArgs
from .base import Context, Tool, given, spec_errors_under

ORIGIN = "heartbeat"
DEFAULT_EVERY_MS = 30 * 60_000  # OpenClaw's default heartbeat interval
MIN_EVERY_MS = 1000
MAX_EVERY_MS = 366 * 86_400_000
DEFAULT_TEXT = ("Heartbeat: read HEARTBEAT.md if it exists and follow it; if nothing needs attention, "
                "reply HEARTBEAT_OK.")


def _every_ms(value: int | str) -> int:
    ms = canonical.duration_ms(value)
    if ms is None or not MIN_EVERY_MS <= ms <= MAX_EVERY_MS:
        raise SpecError(f"every: {value!r} is not an interval from 1 s to 366 days; use milliseconds or e.g. "
                        "'30m', '1h'", field="every")
    return ms


def _columns(args: HeartbeatFields) -> dict[str, Any]:
    """The job columns the given rule fields set (fields left out are not touched)."""
    columns = given({"name": args.name, "agent_id": args.agentId, "payload_message": args.text,
                     "wake_mode": args.wakeMode, "enabled": args.enabled})
    if args.every is not None:
        columns.update(schedule_kind="every", schedule_every_ms=_every_ms(args.every))
    return columns


def _rule(ctx: Context, job_id: str) -> Job:
    job = jobs.get(ctx.store, job_id)
    if job.origin != ORIGIN:
        raise NotFound(f"heartbeat rule {job_id!r} not found; list them with the heartbeat.list tool")
    return job


def list_rules(ctx: Context, args: NoArgs) -> dict[str, Any]:
    return {"heartbeats": [views.heartbeat(j) for j in jobs.with_origin(ctx.store, ORIGIN)]}


def add(ctx: Context, args: HeartbeatAdd) -> dict[str, Any]:
    agent = args.agentId or "main"
    spec = {"name": f"heartbeat {agent}", "agent_id": agent, "schedule_kind": "every",
            "schedule_every_ms": DEFAULT_EVERY_MS, "session_target": "main", "payload_kind": "systemEvent",
            "payload_message": DEFAULT_TEXT, "wake_mode": "now", "delivery_mode": "none", "origin": ORIGIN,
            **given({"id": args.id}), **_columns(args)}
    job = spec_errors_under(None, lambda: jobs.create(ctx.store, spec, now=ctx.now, dry_run=ctx.dry_run,
                                                             actor=ctx.actor))
    ctx.wake("heartbeat added")
    return {"heartbeat": views.heartbeat(job), "jobId": job.id, "dryRun": ctx.dry_run}


def update(ctx: Context, args: HeartbeatUpdate) -> dict[str, Any]:
    _rule(ctx, args.jobId)
    patch = _columns(args)
    if not patch:
        raise SpecError("args: nothing to change; give every, text, name, agentId, wakeMode or enabled",
                        field="args")
    job = spec_errors_under(None, lambda: jobs.update(ctx.store, args.jobId, patch, now=ctx.now,
                                                      dry_run=ctx.dry_run, actor=ctx.actor))
    ctx.wake("heartbeat updated")
    return {"heartbeat": views.heartbeat(job), "jobId": job.id, "dryRun": ctx.dry_run}


def remove(ctx: Context, args: JobRef) -> dict[str, Any]:
    _rule(ctx, args.jobId)
    jobs.delete_job(ctx.store, args.jobId, actor=ctx.actor)
    ctx.wake("heartbeat removed")
    return {"removed": True, "jobId": args.jobId}


def run(ctx: Context, args: JobRef) -> dict[str, Any]:
    _rule(ctx, args.jobId)
    run_id = jobs.run_now(ctx.store, args.jobId, now=ctx.now)
    return {"enqueued": True, "runId": run_id, "jobId": args.jobId, "beatWoken": ctx.start(run_id, "heartbeat run")}


TOOLS = (
    Tool("heartbeat.list", "List heartbeat rules: interval, text, wake mode and their last and next beat.",
         NoArgs, list_rules),
    Tool("heartbeat.add", "Create a heartbeat rule: every (ms or '30m'; default 30m) a system event (text) "
         "wakes the agent's main session (agentId, default main).", HeartbeatAdd, add),
    Tool("heartbeat.update", "Change a heartbeat rule's interval, text, name, agent, wake mode or enabled.",
         HeartbeatUpdate, update),
    Tool("heartbeat.remove", "Delete a heartbeat rule and its runs.", JobRef, remove),
    Tool("heartbeat.run", "Beat now: wake the main session with the rule's text at once; answers {enqueued, "
         "runId}.", JobRef, run, promote=("enqueued", "runId")),
)
