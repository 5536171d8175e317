"""What each dashboard page shows, read through the ``clawsched.sched`` services: plain dicts for the
templates, with instants rendered in the zone that gives them meaning (a job's next fire in its own
``schedule_tz``) and job env values masked as every other listing masks them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from clawsched.sched import approvals, lineage, messages, output
from clawsched.sched import jobs as job_svc
from clawsched.sched import runs as run_svc
from clawsched.sched.states import ApprovalStatus
from clawsched.sched.store.engine import Store
from clawsched.sched.store.listing import status_of

RECENT_RUNS = 30
OUTPUT_SHOWN_BYTES = 256 * 1024  # a page stays light; `clawsched runs output` has the rest
DELETED = "(deleted job)"


def when(instant: datetime | str | None, tz: str = "UTC") -> str:
    """An instant as ``YYYY-MM-DD HH:MM:SS ZONE`` in ``tz``; an empty string for none."""
    if instant is None:
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _job_row(job: dict[str, Any], running: set[str], names: dict[str, str] | None = None) -> dict[str, Any]:
    kind = job["schedule_kind"]
    schedule = {"cron": f"cron {job['schedule_cron']}", "every": f"every {job['schedule_every_ms']} ms",
                "at": f"at {when(job['schedule_at'], job['schedule_tz'])}"}.get(kind, "")
    if job.get("parent_id"):
        parent = (names or {}).get(job["parent_id"], job["parent_id"])
        schedule = f"after {parent} ({job['trigger_on']})"
    elif not any((job["schedule_cron"], job["schedule_every_ms"], job["schedule_at"])):
        schedule = "by hand"
    return {**job, "status": status_of(job, running), "schedule": schedule,
            "next_fire": when(job["next_run_at"], job["schedule_tz"]) if job["enabled"] else ""}


def _run_row(run: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {**run, "job_name": names.get(run["job_id"], DELETED), "started": when(run["started_at"]),
            "created": when(run["created_at"]), "finished": when(run["finished_at"])}


def _names(store: Store) -> dict[str, str]:
    return {j.id: j.name for j in job_svc.list_jobs(store)}


def overview(store: Store) -> dict[str, Any]:
    """The front page: what waits for a person, every job with its next fire, the latest runs."""
    running = {r.job_id for r in run_svc.running(store)}
    found = job_svc.list_jobs(store)
    names = {j.id: j.name for j in found}
    jobs = [_job_row(job_svc.as_dict(j), running, names) for j in found]
    recent = run_svc.search(store, limit=RECENT_RUNS)
    return {"jobs": jobs, "runs": [_run_row(run_svc.as_dict(r), names) for r in recent.rows],
            "runs_total": recent.total, "approvals": pending_approvals(store, names)}


def pending_approvals(store: Store, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = approvals.list_approvals(store, status=ApprovalStatus.PENDING.value)
    return [{**approvals.as_dict(a), "job_name": names.get(a.job_id, DELETED), "requested": when(a.requested_at),
             "expires": when(a.expires_at)} for a in rows]


def job_page(store: Store, job_id: str) -> dict[str, Any]:
    """One job: its fields (secrets masked), its latest runs and its pending approvals."""
    running = {r.job_id for r in run_svc.running(store)}
    names = _names(store)
    job = _job_row(job_svc.as_dict(job_svc.get(store, job_id)), running, names)
    found = run_svc.search(store, job_id=job_id, limit=RECENT_RUNS)
    waiting = [a for a in pending_approvals(store, names) if a["job_id"] == job_id]
    fields = {k: v for k, v in job.items() if v not in (None, "", [], {}) and k not in ("status", "schedule")}
    return {"job": job, "fields": fields, "runs": [_run_row(run_svc.as_dict(r), names) for r in found.rows],
            "approvals": waiting}


def run_page(store: Store, run_id: str) -> dict[str, Any]:
    """One run: its record, its output (the first ``OUTPUT_SHOWN_BYTES`` of each stream) and its lineage."""
    run = run_svc.get(store, run_id)
    names = _names(store)
    row = _run_row(run_svc.as_dict(run), names)
    streams = {stream: _head(store, run, stream) for stream in ("stdout", "stderr")}
    return {"run": row, "output": streams, "lineage": lineage.tree(store, run_id)["tree"]}


def _head(store: Store, run: Any, stream: str) -> dict[str, Any]:
    """The start of one output stream, read no further than the page shows (an offloaded log may be huge)."""
    kept, size = [], 0
    for chunk in output.chunks(store, run, stream):
        kept.append(chunk)
        size += len(chunk.encode())
        if size > OUTPUT_SHOWN_BYTES:
            break
    data = "".join(kept).encode()
    total = getattr(run, f"shell_{stream}_bytes", None) or len(data)
    return {"text": data[:OUTPUT_SHOWN_BYTES].decode(errors="replace"), "bytes": max(total, len(data)),
            "cut": len(data) > OUTPUT_SHOWN_BYTES}


def messages_page(store: Store) -> dict[str, Any]:
    """The latest messages between agents (the inbox queue), newest first."""
    rows = [{**messages.as_dict(m), "created": when(m.created_at)} for m in messages.recent(store, RECENT_RUNS * 2)]
    return {"messages": rows}
