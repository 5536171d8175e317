"""9. Import (issue 16): ``import openclaw-scheduler`` of a ``scheduler.db`` holding one job with ``runs``
runs, end to end in process (open and check the peer's file, read and translate every run, validate the
job, write it with its history in one transaction). Baseline: the same run rows, already built, inserted
by one ``executemany`` into the same table, with the same SQLite page cache (the floor any import pays).
Then a second import of the same file, which finds everything and writes nothing, as a note.

The peer's file is built by ``tests.support.peer_db`` (the peer's schema, as the importer's tests use it).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

from .harness import Env, Figure

TARGET_S = 30.0


def build_peer_file(path: Path, runs: int) -> str:
    """One shell job of the peer with ``runs`` finished runs (one in ten an error), via executemany."""
    from tests.support.peer_db import PeerDb

    peer = PeerDb(path)
    job = peer.job("Nightly backup", id="job-bench", payload_message="tar czf /tmp/b.tgz /etc")
    rows = [(f"run-{i:06d}", job, "error" if i % 10 == 9 else "ok", f"2026-11-{1 + i % 28:02d} 10:00:00",
             f"2026-11-{1 + i % 28:02d} 10:00:01", 1000, f"2026-11-{1 + i % 28:02d} 10:00:00",
             f"stdout:\n{i} files", 1 if i % 10 == 9 else None) for i in range(runs)]
    peer.db.executemany("INSERT INTO runs (id, job_id, status, started_at, finished_at, duration_ms, last_heartbeat,"
                        " summary, shell_exit_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    peer.db.commit()
    peer.close()
    return job


def _fresh(env: Env) -> None:
    """Empty tables that are as fresh as new ones: on SQLite, deleting 100 000 runs leaves the search index's
    pages behind, and the next 100 000 inserts ran 2.5x slower than into a new file."""
    env.clear()
    if env.db == "sqlite":
        env.store.engine.dispose()  # the store's connections begin a transaction; VACUUM needs none
        with closing(sqlite3.connect(str(env.store.engine.url.database), isolation_level=None)) as db:
            db.execute("VACUUM")


def run(env: Env, runs: int) -> list[Figure]:
    from clawsched.sched.importing import peer_rows
    from clawsched.sched.importing.scheduler_db import import_scheduler_db
    from clawsched.sched.store.importing import whole_row
    from clawsched.sched.store.peer_scheduler_db import open_peer_file
    from clawsched.sched.store.tables import RUNS

    folder = Path(tempfile.mkdtemp(prefix="import-", dir=env.home))  # removed with the env (Env.close)
    job = build_peer_file(folder / "scheduler.db", runs)
    build_peer_file(folder / "job-only.db", 0)
    with open_peer_file(folder / "scheduler.db") as peer:
        rows = [whole_row(RUNS, peer_rows.run_columns(r, {})) for r in peer.runs_of(job)]
    _fresh(env)  # the baseline first, on the same empty tables the import then gets
    assert import_scheduler_db(env.store, folder / "job-only.db").ok
    t0 = time.perf_counter()
    with env.store.engine.begin() as conn:
        if env.db == "sqlite":  # the page cache the importer gives itself (store.importing.bulk)
            conn.exec_driver_sql("PRAGMA cache_size = -131072")
        conn.execute(RUNS.insert(), rows)
    baseline = time.perf_counter() - t0
    _fresh(env)
    t0 = time.perf_counter()
    report = import_scheduler_db(env.store, folder / "scheduler.db")
    took = time.perf_counter() - t0
    assert report.ok and report.jobs[0].runs_added == runs, report.as_dict()["jobs"]
    t0 = time.perf_counter()
    again = import_scheduler_db(env.store, folder / "scheduler.db")
    second = time.perf_counter() - t0
    assert not again.changed
    tag = f"({env.db})"
    return [Figure("import", f"import openclaw-scheduler, {runs:,} runs {tag}", took, "s", baseline,
                   "one executemany of the same rows", f"<= {TARGET_S:g} s", took <= TARGET_S,
                   note=f"second import (nothing changed): {second:.1f} s; {runs / took:,.0f} runs/s",
                   extra={"second_s": second, "runs": runs})]
