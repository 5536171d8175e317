"""The database's full-text index of run summaries follows every write, and on SQLite keeping it costs
the same whatever the size of the run history (migration 0004: each run's FTS5 row found by rowid)."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, Table, delete, insert, update

from clawsched.sched import jobs
from clawsched.sched.store import migrations, retrieval
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import JOBS, RUNS, new_id, utcnow

SPEC = {"name": "indexed", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 5000,
        "schedule_cron": "0 0 1 1 *"}


def _runs(store, job_id: str, summaries: list[str | None]) -> list[str]:
    now = utcnow()
    rows = [{"id": new_id(), "job_id": job_id, "status": "ok", "trigger": "manual", "created_at": now,
             "started_at": now, "finished_at": now, "summary": text} for text in summaries]
    with store.engine.begin() as conn:
        conn.execute(insert(RUNS), rows)
    return [r["id"] for r in rows]


def _found(store, job_id: str, words: str) -> list[str | None]:
    return [p.text for p in retrieval.relevant(store, job_id=job_id, exclude_run=None, limit=10, query=words)]


def _set_summary(store, run_id: str, text: str | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(summary=text))


def test_the_index_follows_inserts_updates_and_deletes(store):
    job = jobs.create(store, SPEC)
    first, second, silent = _runs(store, job.id, ["alpha disk full", "beta network down", None])
    assert _found(store, job.id, "disk") == ["alpha disk full"]
    _set_summary(store, first, "gamma cache cold")  # rewritten: the old words are gone
    assert _found(store, job.id, "disk") == [] and _found(store, job.id, "cache") == ["gamma cache cold"]
    _set_summary(store, silent, "delta disk again")  # a run that had no summary gets one
    assert _found(store, job.id, "disk") == ["delta disk again"]
    _set_summary(store, second, None)  # a summary cleared
    assert _found(store, job.id, "network") == []
    with store.engine.begin() as conn:
        conn.execute(delete(RUNS).where(RUNS.c.id.in_([first, silent])))
    assert _found(store, job.id, "cache") == [] and _found(store, job.id, "disk") == []


def _vm_steps(store, statement) -> int:
    """SQLite virtual machine instructions the statement (with its triggers) executes: a cost that does
    not depend on the machine or its load."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    raw = store.engine.raw_connection()
    try:
        raw.driver_connection.set_progress_handler(count, 1)
        cursor = raw.cursor()
        cursor.execute(*statement)
        raw.commit()
        raw.driver_connection.set_progress_handler(None, 1)
    finally:
        raw.close()
    return steps


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_finishing_a_run_costs_the_same_with_a_long_history(store):
    job = jobs.create(store, SPEC)
    costs = []
    for history in (20, 2_000):
        _runs(store, job.id, [f"routine check {i} all good" for i in range(history)])
        one, gone = _runs(store, job.id, [None, "to be removed"])
        costs.append((
            _vm_steps(store, ("UPDATE runs SET summary = NULL, status = 'ok' WHERE id = ?", (one,))),
            _vm_steps(store, ("UPDATE runs SET summary = 'disk full on db02' WHERE id = ?", (one,))),
            _vm_steps(store, ("DELETE FROM runs WHERE id = ?", (gone,))),
        ))
    (small, large) = costs
    for what, few, many in zip(("unchanged summary", "new summary", "delete"), small, large, strict=True):
        assert many < few * 2, f"{what}: {few} steps with 20 runs, {many} with 2 020: grows with the history"
    assert _found(store, job.id, "db02") == ["disk full on db02"] * 2


def test_the_upgrade_indexes_the_summaries_already_there(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrations.upgrade(store, "0003_agents")
        job_id = new_id()
        with store.engine.begin() as conn:  # the columns jobs had at 0003, with today's defaults for them
            then = Table("jobs", MetaData(), autoload_with=conn)
            defaults = {c.name: c.default.arg for c in JOBS.c if c.default is not None and c.default.is_scalar}
            row = {"id": job_id, "name": "old", "created_at": utcnow(), "updated_at": utcnow(),
                   "session_target": "shell", "payload_message": "true"}
            conn.execute(insert(then), [{**{k: v for k, v in defaults.items() if k in then.c}, **row}])
        old = new_id()
        with store.engine.begin() as conn:  # the columns runs had at 0003, not today's table's defaults
            conn.exec_driver_sql(
                "INSERT INTO runs (id, job_id, status, \"trigger\", created_at, summary, shell_timed_out, "
                "retry_count, chain_depth) VALUES (?, ?, 'ok', 'manual', ?, 'legacy disk warning', 0, 0, 0)",
                (old, job_id, utcnow().replace(tzinfo=None).isoformat(" ")))
        migrations.upgrade(store)
        assert _found(store, job_id, "legacy") == ["legacy disk warning"]
        _set_summary(store, old, "renewed text")  # the row the upgrade indexed is found by its key
        assert _found(store, job_id, "legacy") == [] and _found(store, job_id, "renewed") == ["renewed text"]
    finally:
        store.dispose()
