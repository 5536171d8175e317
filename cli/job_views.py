"""Helpers of ``jobs run`` and ``jobs tree``: who can take a run now, and a chain as JSON."""

from __future__ import annotations

from clawsched.cli.context import CliContext


def takers(obj: CliContext) -> tuple[int | None, str | None]:
    """How many workers are alive to take a run (None: unknown), and what to tell the user when none is."""
    from clawsched.sched.coordination import presence
    from clawsched.sched.coordination.connection import probe

    wait = "the run is recorded and will wait until one starts (`clawsched worker` or `clawsched up`)"
    if not obj.settings.redis_url:
        return None, f"no Redis is configured, so no worker can take it yet; {wait}"
    try:
        workers = len(presence.live(probe(obj.settings.redis_url), obj.settings)["worker"])
    except Exception as exc:
        return None, f"Redis at {obj.settings.redis_url.split('@')[-1]} is down ({type(exc).__name__}); {wait}"
    return workers, None if workers else f"no worker is alive to take it; {wait}"


def job_json(node: dict) -> dict:  # type: ignore[type-arg]
    job = node["job"]
    return {"id": job.id, "name": job.name, "enabled": job.enabled, "trigger_on": job.trigger_on,
            "trigger_delay_s": job.trigger_delay_s, "trigger_condition": job.trigger_condition,
            "agent_id": job.agent_id, "session_target": job.session_target,
            "approval_required": job.approval_required, "children": [job_json(c) for c in node["children"]]}
