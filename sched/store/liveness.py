"""Liveness of running runs: their heartbeats, and the runs whose heartbeat stopped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from clawsched.sched.states import RunStatus

from .engine import Store
from .models import Run
from .tables import RUNS, run_has_status


def heartbeat_many(store: Store, run_ids: Iterable[str], *, now: datetime) -> set[str]:
    """Refresh the liveness of these runs in one guarded UPDATE; returns those still running (a run
    missing from the answer was cancelled or reaped elsewhere)."""
    ids = list(run_ids)
    if not ids:
        return set()
    with store.atomic() as conn:
        return set(conn.execute(
            update(RUNS).where(RUNS.c.id.in_(ids), run_has_status(RunStatus.RUNNING.value))
            .values(last_heartbeat=now).returning(RUNS.c.id)
        ).scalars())


def stale(store: Store, older_than_s: float, *, now: datetime) -> list[Run]:
    """Running runs whose heartbeat is older than ``older_than_s``: their worker is probably gone."""
    cutoff = now - timedelta(seconds=older_than_s)
    with store.read() as s:
        return list(s.scalars(select(Run).where(Run.status == RunStatus.RUNNING.value, Run.last_heartbeat < cutoff)))
