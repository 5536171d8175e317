"""``clawsched import openclaw-scheduler PATH``: every job of the peer's ``scheduler.db`` with its history.

Jobs are taken parents first (a chain's child after its parent), each with its runs, approvals and
idempotency ledger entries in one transaction (``writing``). Aliases, agents and messages follow, each kind
in one transaction. The file is opened read-only and checked before anything is written
(``store.peer_scheduler_db``): a foreign or damaged file is refused whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from clawsched.sched.errors import SpecError
from clawsched.sched.importing import peer_records, peer_rows
from clawsched.sched.importing.report import Report
from clawsched.sched.importing.writing import JobImport, rehearsal, write_job, write_records
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import utcnow
from clawsched.sched.store.peer_scheduler_db import PeerFile, open_peer_file

SOURCE = "openclaw-scheduler"
NEWEST_KNOWN = 23  # the peer's schema version this importer was written against


def import_scheduler_db(store: Store, path: Path, *, dry_run: bool = False, now: datetime | None = None) -> Report:
    """Import the peer's jobs, their history and the records beside them; see the module docstring."""
    now = now or utcnow()
    report = Report(SOURCE, str(path), dry_run)
    with open_peer_file(path) as peer, rehearsal(store, dry_run) as session:
        version = peer.version()
        if version is not None and version > NEWEST_KNOWN:
            report.notes.append(f"schema version {version} is newer than {NEWEST_KNOWN}; unknown columns are "
                                "refused by name")
        kinds = {str(d["id"]): str(d["dispatch_kind"]) for d in peer.rows("job_dispatch_queue")}
        approvals = _by(peer.rows("approvals"), "job_id")
        ledger = _by(peer.rows("idempotency_ledger"), "job_id")
        for row in parents_first(peer.rows("jobs")):
            item = _job_import(peer, row, kinds, approvals.get(str(row["id"]), []), ledger.get(str(row["id"]), []))
            report.jobs.append(write_job(store, item, now=now, session=session))
        for table, rows in peer_records.records(peer, {j.id for j in report.jobs if j.status != "refused"}):
            report.records[table] = write_records(store, table, rows, session=session)
    return report


def parents_first(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Jobs ordered so that every parent comes before its children (a job whose parent is not in the
    file comes where the peer had it, and is refused naming the parent)."""
    rows = list(rows)
    ids = {str(r["id"]) for r in rows}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots: list[dict[str, Any]] = []
    for row in rows:
        parent = row.get("parent_id")
        (children[str(parent)] if parent and str(parent) in ids and parent != row["id"] else roots).append(row)
    ordered, frontier = [], roots
    while frontier:
        ordered.extend(frontier)
        frontier = [c for r in frontier for c in children.pop(str(r["id"]), [])]
    ordered.extend(r for rest in children.values() for r in rest)  # cycles: refused by the writer
    return ordered


def _job_import(peer: PeerFile, row: dict[str, Any], kinds: dict[str, str], approvals: list[dict[str, Any]],
                ledger: list[dict[str, Any]]) -> JobImport:
    job_id, name = str(row["id"]), str(row.get("name") or row["id"])
    try:
        spec_input = peer_rows.job_input(row)
    except SpecError as exc:
        return JobImport(job_id, name, row, refused=exc)
    runs = [peer_rows.run_columns(r, kinds) for r in peer.runs_of(job_id)]
    peer_records.untangle(runs)
    gates = peer_records.approvals(approvals, runs, row.get("approval_timeout_s"))
    return JobImport(job_id, name, spec_input, peer_rows.job_state(row), runs,
                     {"approvals": gates, "idempotency_ledger": peer_records.ledger(ledger)})


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[str(row[key])].append(row)
    return grouped
