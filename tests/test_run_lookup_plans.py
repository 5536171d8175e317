"""A worker's statements find their run by primary key, whatever the statistics say about ``status``.

With statistics taken on an empty table (a new installation, or a burst inserted before autovacuum has
analysed it), PostgreSQL rated ``status = 'queued'`` as selective as ``id = ...`` and started each run by
walking every queued run of ``ix_runs_status_due``; the generic plan of a prepared statement kept that
choice for the whole burst. ``tables.run_has_status`` keeps the status guard off every index.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import insert

from clawsched.sched import jobs
from clawsched.sched.store import finishing, starting
from clawsched.sched.store.models import RUNS, new_id, utcnow

SPEC = {"name": "plain", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000,
        "schedule_cron": "0 0 1 1 *"}
FINISH_KEYS = ("finished_at", "duration_ms", "status", "summary", "error_message", "shell_exit_code")


def _statements(run_id: str, job_id: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    now = utcnow()
    start = {"b_run_id": run_id, "b_now": now, "v_hostname": "h", "v_pid": 1, "v_worker_id": "w"}
    finish = {f"v_{k}": None for k in FINISH_KEYS} | {"v_status": "ok", "b_run_id": run_id, "b_job_id": job_id,
                                                      "b_now": now, "v_finished_at": now}
    return {
        "start": (starting.START, start),
        "load": (starting.LOAD, {"b_run_id": run_id}),
        "finish": (finishing._finish_statement(FINISH_KEYS, False), finish),
    }


def _generic_plan(store: Any, statement: Any, values: dict[str, Any]) -> str:
    """The plan a prepared statement settles on (PostgreSQL's generic plan; SQLite has only one)."""
    prepared = store.direct.prepare(statement)
    params = prepared.parameters(values)
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + prepared.sql, tuple(params)).all()
            return "\n".join(str(r[-1]) for r in rows)
        raw = conn.connection.dbapi_connection
        with psycopg.ClientCursor(raw) as cur:
            cur.execute("SET plan_cache_mode = force_generic_plan")
            cur.execute(f"PREPARE probe AS {prepared.sql}")
            try:
                cur.execute(f"EXPLAIN EXECUTE probe({', '.join(['%s'] * len(params))})", params)
                return "\n".join(r[0] for r in cur.fetchall())
            finally:
                cur.execute("DEALLOCATE probe")
                cur.execute("RESET plan_cache_mode")


def test_a_run_is_found_by_its_primary_key_with_thousands_queued_and_stale_statistics(store):
    job = jobs.create(store, SPEC)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # statistics of a table with no runs
        now = utcnow()
        conn.execute(insert(RUNS), [{"id": new_id(), "job_id": job.id, "status": status, "trigger": "manual",
                                     "created_at": now} for status in ("queued", "running", "ok") * 1_000])
        run_id = new_id()
        conn.execute(insert(RUNS), [{"id": run_id, "job_id": job.id, "status": "queued", "trigger": "manual",
                                     "created_at": now}])
    for name, (statement, values) in _statements(run_id, job.id).items():
        plan = _generic_plan(store, statement, values)
        assert "ix_runs_status_due" not in plan, f"{name} walks the status index:\n{plan}"
        assert ("pk_runs" if store.dialect == "postgresql" else "(id=?)") in plan, f"{name}:\n{plan}"
