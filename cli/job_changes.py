"""What ``jobs pause``, ``jobs resume``, ``jobs history`` and ``jobs list`` show of pauses and changes
(the commands themselves live in ``jobs_cmd``, with their group)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, table


def instant(value: str | None) -> datetime | None:
    """``--until``: ISO-8601; without an offset it is UTC."""
    from clawsched.sched.errors import SpecError

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SpecError(f"until: {value!r} is not an ISO-8601 instant, e.g. 2026-12-03T18:00:00Z",
                        field="until") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def show(job: Any, as_json: bool, text: str) -> None:
    from clawsched.sched import jobs as svc

    if as_json:
        emit_json({"ok": True, "job": svc.as_dict(job)})
    else:
        click.echo(text)


def history(obj: CliContext, job_id: str, limit: int, as_json: bool) -> None:
    from clawsched.sched import audit, jobs

    job_id = obj.resolve("job", job_id)
    entries = [audit.as_dict(e) for e in audit.history(obj.store, job_id, limit=limit).rows]
    if not entries and job_id not in jobs.names(obj.store, [job_id]):
        jobs.get(obj.store, job_id)  # an unknown id is NotFound, not an empty history
    if as_json:
        emit_json({"ok": True, "jobId": job_id, "history": entries})
        return
    if not entries:
        click.echo(f"no changes recorded for job {job_id}")
        return
    table([(e["at"], e["action"], e["actor"], e["source"], diff_text(e["changes"]), e["note"] or "")
           for e in entries], ["at", "action", "actor", "source", "changes", "note"])


def pause_text(job: dict[str, Any], local_time: Callable[[datetime | None, str], str | None]) -> str:
    """Who paused a paused job, why, and until when ('' for a job that is not paused)."""
    if job["status"] != "paused":
        return ""
    until = f" until {local_time(job['paused_until'], job['schedule_tz'])}" if job["paused_until"] else ""
    return f"{job['paused_by']}: {job['paused_reason']}{until}"


def diff_text(changes: dict[str, Any] | None, width: int = 80) -> str:
    if not changes:
        return ""
    text = ", ".join(f"{k}: {json.dumps(v[0])} -> {json.dumps(v[1])}" for k, v in changes.items())
    return text if len(text) <= width else text[: width - 1] + "…"
