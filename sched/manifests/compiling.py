"""Tasks to job specs and back: the two directions of one mapping, so ``export`` -> ``apply`` is a no-op.

``compile_task`` gives a task's job in openclaw-scheduler's flat form (``sha256(workflow:task)`` as id,
``manifest:<workflow>/<task>`` as origin, the parent's stable id as ``parent_id``). ``task_of`` writes a
stored job back as a task: the manifest's own fields first, then under ``clawsched`` every column whose
value the task would not otherwise reproduce, found by compiling the task back and comparing.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from clawsched.sched.manifests.document import Task

ORIGIN_PREFIX = "manifest:"
_SHELLS = ("sh", "bash", "zsh")


def stable_id(workflow_id: str, task_id: str) -> str:
    """agentcli's stable job id: the hex SHA-256 of ``workflow_id:task_id`` (64 characters)."""
    return hashlib.sha256(f"{workflow_id}:{task_id}".encode()).hexdigest()


def origin_of(workflow_id: str, task_id: str) -> str:
    return f"{ORIGIN_PREFIX}{workflow_id}/{task_id}"


def owner(origin: str | None) -> tuple[str, str] | None:
    """(workflow, task) of a job a manifest owns, from its origin; None for any other job."""
    if not origin or not origin.startswith(ORIGIN_PREFIX) or "/" not in origin:
        return None
    workflow, _, task = origin[len(ORIGIN_PREFIX):].partition("/")
    return (workflow, task) if workflow and task else None


def shell_command(program: str, args: list[str]) -> str:
    """``{program: sh, args: [-c, CMD]}`` is CMD; anything else is quoted into one command line."""
    if program in _SHELLS and len(args) == 2 and args[0] == "-c":
        return args[1]
    return shlex.join([program, *args])


def compile_task(workflow_id: str, task: Task) -> dict[str, Any]:
    """The task's job as flat spec fields (None values left out so the spec's defaults apply)."""
    target = task.target
    session_target = target.session_target or ("shell" if task.shell else "isolated")
    if target.session_id:
        session_target = f"session:{target.session_id}"
    flat: dict[str, Any] = {
        "id": stable_id(workflow_id, task.id), "origin": origin_of(workflow_id, task.id),
        "name": task.name or task.id, "description": task.description, "enabled": task.enabled,
        "session_target": session_target, "agent_id": target.agent_id,
        "payload_message": task.prompt if task.shell is None else shell_command(task.shell.program, task.shell.args),
    }
    if task.schedule:
        flat.update(schedule_cron=task.schedule.cron, schedule_tz=task.schedule.tz,
                    schedule_at=task.schedule.at, schedule_every_ms=task.schedule.every_ms)
    flat.update(run_timeout_ms=task.runtime.timeout_ms, max_retries=task.runtime.max_retries,
                overlap_policy=task.runtime.overlap_policy)
    if task.delivery:
        flat.update(delivery_mode=task.delivery.mode, delivery_channel=task.delivery.channel,
                    delivery_to=task.delivery.to, delivery_guarantee=task.delivery.guarantee)
    if task.trigger:
        flat.update(parent_id=stable_id(workflow_id, task.trigger.parent), trigger_on=task.trigger.on,
                    trigger_delay_s=task.trigger.delay_s, trigger_condition=task.trigger.condition)
    flat = {k: v for k, v in flat.items() if v is not None}
    flat.update(task.clawsched)  # the extension wins: it carries what the manifest fields cannot
    return flat


def task_of(columns: Mapping[str, Any], task_id: str, parent_task: str | None,
            compile_back: Any) -> dict[str, Any]:
    """A stored job (its spec columns) as a manifest task; ``compile_back(task_dict)`` gives the columns
    that task would produce, so whatever differs goes under ``clawsched``."""
    task = _first_class(columns, task_id, parent_task)
    produced = compile_back(task)
    extra = {k: _plain(v) for k, v in columns.items()
             if k not in ("id", "origin") and produced.get(k) != v}
    extra = {**task.get("clawsched", {}), **extra}
    if extra:
        task["clawsched"] = extra
    return task


def _first_class(c: Mapping[str, Any], task_id: str, parent_task: str | None) -> dict[str, Any]:
    task: dict[str, Any] = {"id": task_id, "name": c["name"]}
    if c.get("description"):
        task["description"] = c["description"]
    if not c["enabled"]:
        task["enabled"] = False
    if c["session_target"] == "shell":
        task["shell"] = {"program": "sh", "args": ["-c", c["payload_message"]]}
    else:
        task["prompt"] = c["payload_message"]
    target = {"session_target": c["session_target"], "agent_id": c["agent_id"]}
    if c.get("session_id"):
        target["session_id"] = c["session_id"]
    task["target"] = target
    if parent_task:
        task["trigger"] = {"parent": parent_task, "on": c["trigger_on"]}
        task["trigger"].update({k: v for k, v in (("delay_s", c["trigger_delay_s"] or None),
                                                  ("condition", c["trigger_condition"])) if v})
    elif c.get("parent_id"):  # a parent outside the workflow: the chain is kept as flat fields
        task["clawsched"] = {k: _plain(c[k]) for k in ("parent_id", "trigger_on", "trigger_delay_s",
                                                       "trigger_condition") if c.get(k) is not None}
    else:
        task["schedule"] = _schedule(c)
    task["runtime"] = {"timeout_ms": c["run_timeout_ms"]}
    if c.get("delivery_to") or c["delivery_mode"] != "announce":
        task["delivery"] = {k: v for k, v in (("mode", c["delivery_mode"]), ("channel", c.get("delivery_channel")),
                                              ("to", c.get("delivery_to"))) if v}
    return task


def _schedule(c: Mapping[str, Any]) -> dict[str, Any]:
    kind = c["schedule_kind"]
    found: dict[str, Any] = {"tz": c["schedule_tz"]}
    if kind == "cron":
        found["cron"] = c["schedule_cron"]
    elif kind == "at":
        found["at"] = _plain(c["schedule_at"])
    elif kind == "every":
        found["every_ms"] = c["schedule_every_ms"]
    return found


def _plain(value: Any) -> Any:
    """JSON- and YAML-safe: instants as ISO-8601 UTC."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value
