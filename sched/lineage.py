"""Run lineage both ways: what led to a run (its trigger, the attempt it retries or replays) and
everything that followed from it (retries, replays, triggered children), from the runs table alone.

A run has at most one origin: ``retry_of`` (a retry), ``replay_of`` (a crash replay) or
``triggered_by_run`` (a chain child). Walking origins up gives the root; walking the three links down
from the root gives the whole tree, with the asked-for run marked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from clawsched.sched.errors import NotFound
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Job, Run

MAX_NODES = 500


def origin(run: Run) -> tuple[str, str] | None:
    """``(relation, run id)`` of the run this one came from, or None for a scheduled/manual run."""
    if run.retry_of:
        return "retry", run.retry_of
    if run.replay_of:
        return "replay", run.replay_of
    if run.triggered_by_run:
        return "chain", run.triggered_by_run
    return None


def relation_to_parent(run: Run) -> str:
    link = origin(run)
    return link[0] if link else "root"


def tree(store: Store, run_id: str) -> dict[str, Any]:
    """The lineage tree that contains ``run_id``: nested dicts from the root run down."""
    with store.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(f"run {run_id!r} not found; list runs with `clawsched runs list <job-id>`")
        root, ancestors = run, []
        seen = {run.id}
        while (link := origin(root)) is not None:
            parent = s.get(Run, link[1])
            if parent is None or parent.id in seen:
                break
            seen.add(parent.id)
            ancestors.append(parent.id)
            root = parent
        names: dict[str, str] = {}
        budget = [MAX_NODES]
        node = _down(s, root, run_id, names, budget, set())
    return {"run_id": run_id, "root": root.id, "ancestors": ancestors, "tree": node}


def _down(s: Session, run: Run, focus: str, names: dict[str, str], budget: list[int], seen: set[str]) -> dict[str, Any]:
    seen.add(run.id)
    budget[0] -= 1
    if run.job_id not in names:
        names[run.job_id] = s.scalar(select(Job.name).where(Job.id == run.job_id)) or "(deleted job)"
    node: dict[str, Any] = {
        "id": run.id, "job_id": run.job_id, "job_name": names[run.job_id], "status": run.status,
        "trigger": run.trigger, "relation": relation_to_parent(run), "retry_count": run.retry_count,
        "chain_depth": run.chain_depth, "created_at": run.created_at, "started_at": run.started_at,
        "finished_at": run.finished_at, "focus": run.id == focus, "children": [],
    }
    if budget[0] <= 0:
        node["truncated"] = True
        return node
    followers = s.scalars(
        select(Run).where(or_(Run.retry_of == run.id, Run.replay_of == run.id, Run.triggered_by_run == run.id))
        .order_by(Run.created_at, Run.id)
    )
    for child in followers:
        if child.id not in seen and budget[0] > 0:
            node["children"].append(_down(s, child, focus, names, budget, seen))
    return node


def render(result: dict[str, Any]) -> list[str]:
    """Text lines for ``runs tree``: one run per line, drawn with ``├─``/``└─``, the asked-for run marked."""
    from clawsched.sched.rules.chains import draw

    def label(node: dict[str, Any]) -> str:
        relation = {"retry": f"retry #{node['retry_count']} ", "replay": "replay ", "chain": "→ "}.get(
            node["relation"], "")
        mark = "  ◀" if node["focus"] else ""
        return f"{relation}{node['job_name']} run {node['id']} [{node['status']}] ({node['trigger']}){mark}"

    return draw(result["tree"], label)
