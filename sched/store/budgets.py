"""What a job has spent in its budget windows (``rules.budgets``): the usage of its runs that started
today (UTC) and how many started this hour. Read by the worker's ``budget`` gate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from .engine import Store
from .models import Run


def spent(store: Store, job_id: str, *, day: datetime, hour: datetime) -> tuple[list[dict[str, Any] | None], int]:
    """The ``usage`` of each run of the job started since ``day``, and how many started since ``hour``."""
    with store.read() as s:
        rows = s.execute(select(Run.usage, Run.started_at).where(
            Run.job_id == job_id, Run.started_at.is_not(None), Run.started_at >= day)).all()
    return [usage for usage, _ in rows], sum(1 for _, started in rows if started >= hour)
