"""How tools show jobs, runs and approvals: the same JSON the CLI's ``--json`` and the REST routes give,
with a run's outcome summed up beside its columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clawsched.sched import approvals, jobs, runs
from clawsched.sched.store.models import Approval, Job, Run

# A run listing leaves out what can be large; ``runs.get`` (and ``clawsched runs output``) has all of it.
_BULKY = ("shell_stdout", "shell_stderr", "reply")


def job(row: Job) -> dict[str, Any]:
    return jobs.as_dict(row)


def outcome(row: Run) -> dict[str, Any]:
    """What became of a run, in a few fields: its status, whether it is over, and why."""
    return {"status": row.status, "finished": row.status in runs.TERMINAL_VALUES, "ok": row.status == "ok",
            "summary": row.summary or row.error_message or row.skip_reason, "exitCode": row.shell_exit_code,
            "durationMs": row.duration_ms}


def run(row: Run, *, full: bool = False) -> dict[str, Any]:
    data = runs.as_dict(row)
    if not full:
        for key in _BULKY:
            data.pop(key, None)
    data["runId"] = row.id
    data["outcome"] = outcome(row)
    return data


def approval(row: Approval) -> dict[str, Any]:
    return approvals.as_dict(row)


def heartbeat(row: Job) -> dict[str, Any]:
    """A heartbeat rule as the seed's control plane shows one: interval, text, wake mode and its state."""
    return {"id": row.id, "name": row.name, "agentId": row.agent_id, "everyMs": row.schedule_every_ms,
            "text": row.payload_message, "wakeMode": row.wake_mode, "enabled": row.enabled,
            "nextRunAt": instant(row.next_run_at), "lastRunAt": instant(row.last_run_at),
            "lastStatus": row.last_status, "consecutiveErrors": row.consecutive_errors}


def instant(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None
