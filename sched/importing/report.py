"""What an import did, job by job: imported, updated, unchanged or refused (with the field and the fix).

The CLI prints it as a table or JSON, the API answers it; both read ``as_dict``. ``ok`` is false when any
job was refused, so a script can tell a partial import from a whole one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["imported", "updated", "unchanged", "refused"]


@dataclass
class JobOutcome:
    """One source job's fate, with the runs of its history that were added."""

    id: str
    name: str
    status: Status
    runs_added: int = 0
    runs_kept: int = 0
    field: str | None = None
    reason: str | None = None


@dataclass
class Report:
    """The whole import: its source, whether it was a dry run, each job, and the records beside the jobs."""

    source: str
    path: str
    dry_run: bool
    jobs: list[JobOutcome] = field(default_factory=list)
    records: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for j in self.jobs if j.status == status)

    @property
    def ok(self) -> bool:
        return self.count("refused") == 0

    @property
    def changed(self) -> bool:
        return any(j.status in ("imported", "updated") or j.runs_added for j in self.jobs) or any(
            c.get("added") or c.get("changed") for c in self.records.values())

    def as_dict(self) -> dict[str, Any]:
        totals = {s: self.count(s) for s in ("imported", "updated", "unchanged", "refused")}
        return {"ok": self.ok, "source": self.source, "path": self.path, "dryRun": self.dry_run,
                "changed": self.changed, "totals": {**totals, "runs_added": sum(j.runs_added for j in self.jobs)},
                "jobs": [asdict(j) for j in self.jobs], "records": self.records, "notes": self.notes}
