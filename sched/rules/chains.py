"""Chain rules: which children a finished run triggers, what they are told about it, how trees are drawn.

Pure functions over plain values and rows already loaded; the chain callback (``workers.chaining``) and
the CLI call them. A child fires on its parent's *final* outcome: ``success`` on ``ok``, ``failure`` on
``error``/``timeout``/``crashed``, ``complete`` on any of those. ``skipped``, ``cancelled`` and
``rejected`` runs never trigger anything. A condition narrows the match further: ``contains:<text>`` is a
case-sensitive substring test, ``regex:<pattern>`` a Python ``re.search``; both look at the parent's
output text (``parent_text``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clawsched.sched.states import FAILED, RunStatus, TriggerOn

MAX_CHAIN_DEPTH = 10
EXCERPT_CHARS = 3000
SUMMARY_CHARS = 5000
ERROR_CHARS = 2000


def outcome_matches(trigger_on: str | None, parent_status: str) -> bool:
    """Whether a child with ``trigger_on`` fires for a parent that ended with ``parent_status``."""
    status = RunStatus(parent_status)
    if status == RunStatus.OK:
        return trigger_on in (TriggerOn.SUCCESS.value, TriggerOn.COMPLETE.value)
    if status in FAILED:
        return trigger_on in (TriggerOn.FAILURE.value, TriggerOn.COMPLETE.value)
    return False


def condition_matches(condition: str | None, text: str) -> bool:
    """``contains:`` (case-sensitive) or ``regex:`` (``re.search``); no condition always matches.

    Specs reject an invalid regex when the job is saved; one that slipped in some other way holds the
    child (and never raises into the callback).
    """
    if not condition:
        return True
    if condition.startswith("contains:"):
        return condition[len("contains:"):] in text
    if condition.startswith("regex:"):
        try:
            return re.search(condition[len("regex:"):], text) is not None
        except re.error:
            return False
    return False


def matches(trigger_on: str | None, condition: str | None, parent_status: str, parent_text: str) -> bool:
    return outcome_matches(trigger_on, parent_status) and condition_matches(condition, parent_text)


def parent_text(run: Any) -> str:
    """The text a condition is tested against: stdout and stderr (shell), the reply (agent), the error."""
    parts = [run.shell_stdout, run.shell_stderr, run.reply]
    if not any(parts):
        parts.append(run.summary)
    parts.append(run.error_message)
    return "\n".join(p for p in parts if p)


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[-limit:]


def trigger_context(parent_job: Any, run: Any) -> dict[str, Any]:
    """What a child learns about the run that triggered it.

    Shell children get each key as ``CLAWSCHED_PARENT_<KEY>`` in their environment; agent children get
    it as a trigger-context block in their prompt. Output is cut to its last few thousand characters.
    """
    context: dict[str, Any] = {
        "job_id": parent_job.id,
        "job_name": parent_job.name,
        "run_id": run.id,
        "status": run.status,
        "exit_code": run.shell_exit_code,
        "signal": run.shell_signal,
        "timed_out": bool(run.shell_timed_out) if run.shell_timed_out is not None else None,
        "stdout": _cut(run.shell_stdout, EXCERPT_CHARS),
        "stderr": _cut(run.shell_stderr, EXCERPT_CHARS),
        "summary": _cut(run.summary or run.reply, SUMMARY_CHARS),
        "error": _cut(run.error_message, ERROR_CHARS),
    }
    return {k: v for k, v in context.items() if v is not None}


def depth_refused(parent_depth: int) -> str | None:
    """The reason a child of a run at ``parent_depth`` may not fire, or None."""
    depth = parent_depth + 1
    if depth > MAX_CHAIN_DEPTH:
        return f"chain depth {depth} exceeds the limit of {MAX_CHAIN_DEPTH}"
    return None


def select_children(children: Sequence[Any], parent_status: str, text: str, fanout: int) -> list[Any]:
    """The enabled children that fire, in creation order, at most ``fanout`` of them."""
    chosen = [c for c in children if c.enabled and matches(c.trigger_on, c.trigger_condition, parent_status, text)]
    return chosen[: max(0, fanout)]


# ------------------------------------------------------------------------------------------ job trees

def job_label(job: Any) -> str:
    """``Deploy App [→success +60s] (agent:ops)``, as openclaw-scheduler's ``jobs tree`` prints it."""
    label = job.name
    if job.parent_id:
        trigger = f"→{job.trigger_on}"
        if job.trigger_delay_s:
            trigger += f" +{job.trigger_delay_s}s"
        if job.trigger_condition:
            trigger += f" if {job.trigger_condition}"
        label += f" [{trigger}]"
    if job.session_target == "shell":
        label += " (shell)"
    elif job.agent_id and job.agent_id != "main":
        label += f" (agent:{job.agent_id})"
    if job.approval_required:
        label += " [approval]"
    if not job.enabled:
        label += " [disabled]"
    return label


def job_forest(jobs: Iterable[Any], root_id: str | None = None) -> list[dict[str, Any]]:
    """Nested ``{"job": row, "children": [...]}`` from flat rows; roots are jobs whose parent is absent."""
    rows = list(jobs)
    ids = {j.id for j in rows}
    by_parent: dict[str | None, list[Any]] = {}
    for job in rows:
        parent = job.parent_id if job.parent_id in ids else None
        by_parent.setdefault(parent, []).append(job)

    def build(job: Any, seen: frozenset[str]) -> dict[str, Any]:
        kids = [k for k in by_parent.get(job.id, []) if k.id not in seen]
        return {"job": job, "children": [build(k, seen | {k.id}) for k in kids]}

    roots = [j for j in rows if j.id == root_id] if root_id else by_parent.get(None, [])
    return [build(r, frozenset({r.id})) for r in roots]


def render_forest(forest: Sequence[Mapping[str, Any]], label: Any = job_label) -> list[str]:
    """Lines of the tree: roots flush left, each level indented under ``└─``."""
    lines: list[str] = []

    def walk(node: Mapping[str, Any], depth: int) -> None:
        prefix = "" if depth == 0 else "   " * (depth - 1) + "└─ "
        lines.append(prefix + label(node["job"]))
        for child in node["children"]:
            walk(child, depth + 1)

    for root in forest:
        walk(root, 0)
    return lines
