"""``clawsched backup`` then ``restore`` into a fresh database yields identical jobs, runs and outputs
(issue 18): SQLite to PostgreSQL and back, every table compared row by row; a non-empty target, a damaged
file and a truncated one are refused with the target left as it was."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import backups, jobs, messages, output, runs
from clawsched.sched.outcomes import Outcome
from clawsched.sched.settings import Settings
from clawsched.sched.states import RunStatus
from clawsched.sched.store import claims, dumping, migrations, output_chunks
from clawsched.sched.store.engine import Store
from clawsched.sched.store.tables import utcnow
from tests.support import services
from tests.support.lifecycle import finish_run, start_run

PG_URL = os.environ.get("CLAWSCHED_TEST_DATABASE_URL")
BIG = "".join(f"{i:07d} é€ line\n" for i in range(150_000)).encode()  # 2.7 MB: three chunks


def _sqlite(tmp_path: Path, name: str, *, migrated: bool = True) -> Store:
    store = Store(f"sqlite:///{tmp_path / name}")
    if migrated:
        migrations.upgrade(store)
    return store


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """The URL of an empty PostgreSQL schema (no tables: restore makes them)."""
    if not PG_URL:
        pytest.skip("SKIPPED: CLAWSCHED_TEST_DATABASE_URL is not set; no PostgreSQL for the restore target")
    schema = f"restore_{os.getpid()}_{os.urandom(3).hex()}"
    admin = Store(PG_URL)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    admin.dispose()
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    services.drop_postgres_schema(PG_URL, schema)


def _populate(store: Store) -> str:
    """Jobs of each kind, runs in several states, offloaded output, messages with receipts."""
    parent = jobs.create(store, {"name": "nightly", "session_target": "shell", "payload_message": "./x.sh",
                                 "run_timeout_ms": 60_000, "schedule_kind": "cron", "schedule_cron": "0 3 * * *",
                                 "env": {"TOKEN": "s3cret"}, "queue": "gpu"})
    jobs.create(store, {"name": "child", "session_target": "isolated", "payload_message": "summarise",
                        "parent_id": parent.id, "trigger_on": "success"})
    ran = runs.enqueue(store, parent.id)
    assert [c.run_id for c in claims.claim_due_runs(store, utcnow())] == [ran]
    waiting = runs.enqueue(store, parent.id)
    assert start_run(store, ran, hostname="host-a", pid=4242)
    with tempfile.TemporaryFile() as f:
        f.write(BIG)
        f.flush()
        assert output_chunks.put(store, ran, "stdout", f.fileno(), len(BIG)) == 3
    assert finish_run(store, ran, Outcome(RunStatus.OK, summary="done", shell={
        "shell_exit_code": 0, "shell_stdout": "tail", "shell_stdout_path": "/var/lib/x/out",
        "shell_stdout_bytes": len(BIG), "shell_stderr": "", "shell_stderr_bytes": 0}))
    msg = messages.send(store, "main", "ops", "hello", subject="s")
    messages.read(store, msg.id, "ops")
    assert runs.get(store, ran).status == "ok" and runs.get(store, waiting).status == "pending"
    return ran


def _dump(store: Store) -> dict[str, list[str]]:
    """Every table as sorted canonical lines: what 'identical' means here."""
    with dumping.snapshot(store) as conn:
        return {t.name: sorted(json.dumps([backups._encode(k, v) for k, v in zip(backups._kinds(t), row,
                                                                                   strict=True)], sort_keys=True)
                               for row in dumping.rows(conn, t)) for t in dumping.TABLES}


def _cli(url: str, home: Path, *args: str) -> dict:
    settings = Settings.from_env({"CLAWSCHED_HOME": str(home), "CLAWSCHED_DATABASE_URL": url})
    result = CliRunner().invoke(cli, [*args, "--json"], obj=CliContext(settings))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_backup_and_restore_sqlite_to_postgresql_and_back(tmp_path, fresh_postgres):
    source = _sqlite(tmp_path, "source.db")
    ran = _populate(source)
    before = _dump(source)
    assert len(before["run_output_chunks"]) == 3 and len(before["message_receipts"]) >= 1
    made = _cli(source.url, tmp_path, "backup", str(tmp_path / "a.backup"))
    assert made["tables"]["runs"]["rows"] == 2 and made["tables"]["jobs"]["rows"] == 2

    restored = _cli(fresh_postgres, tmp_path, "restore", str(tmp_path / "a.backup"))
    assert restored["from"] == "sqlite"
    on_pg = Store(fresh_postgres)
    assert _dump(on_pg) == before
    assert output.read(on_pg, runs.get(on_pg, ran), "stdout").encode() == BIG  # the output, whole
    assert jobs.get(on_pg, runs.get(on_pg, ran).job_id).env == {"TOKEN": "s3cret"}
    messages.send(on_pg, "main", "ops", "after")  # the serial ids go on past the restored ones
    messages.read(on_pg, messages.send(on_pg, "main", "ops", "x").id, "ops")

    backups.backup(on_pg, tmp_path / "b.backup")
    back = _sqlite(tmp_path, "back.db", migrated=False)  # a fresh file: restore makes the schema
    backups.restore(back, tmp_path / "b.backup")
    assert _dump(back) == _dump(on_pg)
    assert output.read(back, runs.get(back, ran), "stdout").encode() == BIG
    on_pg.dispose()


def test_restore_refuses_a_non_empty_target_and_a_damaged_file(tmp_path):
    source = _sqlite(tmp_path, "source.db")
    _populate(source)
    backups.backup(source, tmp_path / "a.backup")
    with pytest.raises(Exception, match="needs an empty database; this one has .*2 jobs"):
        backups.restore(source, tmp_path / "a.backup")
    with pytest.raises(Exception, match="exists"):
        backups.backup(source, tmp_path / "a.backup")  # never overwrites

    raw = gzip.decompress((tmp_path / "a.backup").read_bytes()).decode().splitlines()
    edited = [line.replace('"nightly"', '"nightlx"') if line.startswith("[") else line for line in raw]
    assert edited != raw
    truncated = raw[: len(raw) // 2]
    for name, lines in (("edited", edited), ("truncated", truncated)):
        (tmp_path / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        target = _sqlite(tmp_path, f"{name}.db")
        with pytest.raises(Exception, match="nothing was restored|does not match"):
            backups.restore(target, tmp_path / name)
        assert sum(dumping.counts(target).values()) == 0  # all or nothing

    result = CliRunner().invoke(cli, ["restore", str(tmp_path / "nope")], obj=CliContext(
        Settings.from_env({"CLAWSCHED_HOME": str(tmp_path), "CLAWSCHED_DATABASE_URL": target.url})))
    assert result.exit_code != 0 and "no such backup file" in result.output and "Traceback" not in result.output
