"""``clawsched import openclaw-cron [PATH]``: OpenClaw's legacy cron store with its sidecars and run logs.

The store is ``~/.openclaw/cron/jobs.json``: ``{"version": 1, "jobs": [...]}`` or a bare list. Beside it,
``jobs-state.json`` (``{"jobs": {"<id>": {"state": {...}}}}``) overrides each job's inline state, and
``runs/<jobId>.jsonl`` holds its history (one JSON object a line; ``finished`` lines are runs). Each entry
is made today's cron-tool job (``cron_legacy``), then validated and written like any job, with its runs, in
one transaction (``writing``). A file that is not JSON, or JSON of another shape, is refused whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from clawsched.sched.errors import SpecError
from clawsched.sched.importing import cron_legacy
from clawsched.sched.importing.report import JobOutcome, Report
from clawsched.sched.importing.writing import JobImport, rehearsal, write_job
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import utcnow

SOURCE = "openclaw-cron"


def import_cron_store(store: Store, path: Path, *, dry_run: bool = False, now: datetime | None = None) -> Report:
    """Import every job of the store at ``path`` with its sidecar state and its run log."""
    now = now or utcnow()
    report = Report(SOURCE, str(path), dry_run)
    entries = read_store(path)
    states = _sidecar_states(path.parent / "jobs-state.json", report)
    with rehearsal(store, dry_run) as session:
        for index, raw in enumerate(entries):
            report.jobs.append(_one(store, path, index, raw, states, now, session, report))
    return report


def _one(store: Store, path: Path, index: int, raw: Any, states: Mapping[str, Any], now: datetime,
         session: Any, report: Report) -> JobOutcome:
    """One entry of the store, with its state and run log, written (or refused) as one job."""
    from clawsched.sched.specs.cron_tool import canonical

    if not isinstance(raw, Mapping):
        refused = SpecError(f"jobs[{index}]: expected a job object, got {type(raw).__name__}",
                            field=f"jobs[{index}]")
        return write_job(store, JobImport(f"#{index}", f"entry {index}", {}, refused=refused), now=now,
                         session=session)
    spec = canonical(cron_legacy.job(raw, index), now=now)
    jid = str(spec["id"])
    runs = _runs(path.parent / "runs" / f"{jid}.jsonl", jid, report)
    item = JobImport(jid, str(spec.get("name") or jid), spec, cron_legacy.state(raw, states.get(jid)), runs)
    return write_job(store, item, now=now, session=session)


def read_store(path: Path) -> list[Any]:
    """The entries of ``jobs.json``, or a SpecError naming the path and what is wrong with the file."""
    if not path.is_file():
        raise SpecError(f"path: {str(path)!r} is not a file; give OpenClaw's cron store "
                        "(default ~/.openclaw/cron/jobs.json)", field="path")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpecError(f"path: {str(path)!r} is not JSON ({exc}); if it is JSON5 (comments, trailing commas), "
                        "save it as plain JSON first", field="path") from None
    entries = data if isinstance(data, list) else data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SpecError(f"path: {str(path)!r} is not an OpenClaw cron store: expected {{\"version\": 1, "
                        "\"jobs\": [...]}} or a list of jobs", field="path")
    return entries


def _sidecar_states(path: Path, report: Report) -> dict[str, Mapping[str, Any]]:
    if not path.is_file():
        return {}
    try:
        jobs = json.loads(path.read_text(encoding="utf-8")).get("jobs") or {}
    except (ValueError, AttributeError) as exc:
        report.notes.append(f"{path.name} ignored: not the sidecar's JSON ({exc})")
        return {}
    return {str(k): v["state"] for k, v in jobs.items() if isinstance(v, Mapping) and isinstance(v.get("state"),
                                                                                                 Mapping)}


def _runs(path: Path, jid: str, report: Report) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    runs, bad = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            parsed = json.loads(line) if line.strip() else None
        except ValueError:
            bad += 1
            continue
        run = cron_legacy.run(parsed, jid) if isinstance(parsed, Mapping) else None
        if run is not None:
            runs.append(run)
    if bad:
        report.notes.append(f"runs/{path.name}: {bad} line(s) were not JSON and were skipped")
    unique = {r["id"]: r for r in runs}  # a line repeated in the log is one run
    return list(unique.values())
