"""Chain rules: which children a finished run triggers, what they are told about it, how trees are drawn.

Pure functions over plain values and rows already loaded; the chain callback (``workers.chaining``) and
the CLI call them. A child fires on its parent's *final* outcome: ``success`` on ``ok``, ``failure`` on
``error``/``timeout``/``crashed``, ``complete`` on any of those. ``skipped``, ``cancelled`` and
``rejected`` runs never trigger anything. A condition narrows the match further: ``contains:<text>`` is a
case-sensitive substring test, ``regex:<pattern>`` a search with the ``regex`` module (Python ``re``
syntax and more); both look at the parent's output text (``parent_text``).

A user's regex is evaluated with a bound: ``REGEX_TIMEOUT_S`` of matching, with the GIL released, so a
pattern that backtracks catastrophically (``(a|aa)+$`` against a long run of ``a``) cannot pin a worker.
Such a condition is not decided: the child is *refused* (``Verdict.refused``) and recorded ``skipped``
with the reason, never silently dropped and never left spinning.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from clawsched.sched.states import FAILED, RunStatus, TriggerOn

MAX_CHAIN_DEPTH = 10
EXCERPT_CHARS = 3000
SUMMARY_CHARS = 5000
ERROR_CHARS = 2000
REGEX_TIMEOUT_S = 0.5
"""How long one ``regex:`` condition may search a parent's output before the child is refused."""


@dataclass(frozen=True)
class Verdict:
    """A condition's answer for one parent output: it holds or not, or it could not be decided
    (``refused`` says why; the child is then recorded skipped with that reason)."""

    holds: bool
    refused: str | None = None


def outcome_matches(trigger_on: str | None, parent_status: str) -> bool:
    """Whether a child with ``trigger_on`` fires for a parent that ended with ``parent_status``."""
    status = RunStatus(parent_status)
    if status == RunStatus.OK:
        return trigger_on in (TriggerOn.SUCCESS.value, TriggerOn.COMPLETE.value)
    if status in FAILED:
        return trigger_on in (TriggerOn.FAILURE.value, TriggerOn.COMPLETE.value)
    return False


@functools.lru_cache(maxsize=256)
def compile_regex(pattern: str) -> regex.Pattern[str]:
    """The pattern as the engine that evaluates conditions compiles it; ``regex.error`` if it cannot."""
    return regex.compile(pattern)


def evaluate_condition(condition: str | None, text: str, *, timeout_s: float = REGEX_TIMEOUT_S) -> Verdict:
    """``contains:`` (case-sensitive) or ``regex:`` (a bounded search); no condition always holds.

    Specs reject a regex the engine cannot compile when the job is saved; one that slipped in some
    other way, or a search that does not finish within ``timeout_s``, refuses the child with the
    reason. Never raises into the callback.
    """
    if not condition:
        return Verdict(True)
    if condition.startswith("contains:"):
        return Verdict(condition[len("contains:"):] in text)
    if not condition.startswith("regex:"):
        return Verdict(False)
    try:
        pattern = compile_regex(condition[len("regex:"):])
    except regex.error as exc:
        return Verdict(False, f"trigger_condition {condition[:80]!r} does not compile ({exc})")
    try:
        return Verdict(pattern.search(text, timeout=timeout_s, concurrent=True) is not None)
    except TimeoutError:
        return Verdict(False, f"trigger_condition {condition[:80]!r} did not finish within {timeout_s:g} s "
                              f"on the parent's output ({len(text)} characters): not decided, child not started")


def condition_matches(condition: str | None, text: str) -> bool:
    """Whether the condition holds (an undecided one does not)."""
    return evaluate_condition(condition, text).holds


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
    return [child for child, refused in choose_children(children, parent_status, text, fanout) if refused is None]


def choose_children(children: Sequence[Any], parent_status: str, text: str,
                    fanout: int) -> list[tuple[Any, str | None]]:
    """The enabled children whose trigger applies, in creation order, at most ``fanout`` of them, each with
    the reason it is refused (its condition could not be decided) or None when it fires."""
    chosen: list[tuple[Any, str | None]] = []
    for child in children:
        if len(chosen) >= max(0, fanout):
            break
        if not child.enabled or not outcome_matches(child.trigger_on, parent_status):
            continue
        verdict = evaluate_condition(child.trigger_condition, text)
        if verdict.holds or verdict.refused is not None:
            chosen.append((child, verdict.refused))
    return chosen


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
    """Lines of the tree: roots flush left, each child under ``├─`` (``└─`` for the last), ``│`` carrying
    an ancestor's line down past its later siblings."""
    lines: list[str] = []
    for root in forest:
        lines.extend(draw(root, lambda node: label(node["job"])))
    return lines


def draw(root: Mapping[str, Any], label: Any) -> list[str]:
    """One tree of ``{"children": [...]}`` nodes as text lines, ``label(node)`` on each."""
    lines: list[str] = [label(root)]

    def walk(node: Mapping[str, Any], indent: str) -> None:
        children = list(node["children"])
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{indent}{'└─' if last else '├─'} {label(child)}")
            walk(child, indent + ("   " if last else "│  "))

    walk(root, "")
    return lines
