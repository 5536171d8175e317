"""``clawsched import openclaw-scheduler``: a ``scheduler.db`` built in the peer's schema, with a chain, an
approval gate, aliases, messages, agents, the ledger and 1 000 runs, comes over with the same jobs and the
same history; a second import changes nothing; a refusal, a damaged or a foreign file leaves nothing
half-written (issue 16, "Importers"). Also over the API, behind its token.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clawsched.api.app import create_app
from clawsched.sched import jobs
from clawsched.sched.store.models import Approval, DeliveryAlias, Message, Run
from tests.support.peer_db import PeerDb

TOKEN = "import-token"
RUNS = 1000


def build(path) -> tuple[PeerDb, dict[str, Any]]:
    """The peer's file: a chain root -> gated child -> failure grandchild, an agent job to an alias, an
    at-job, a job clawsched refuses (and its child), 1 000 runs of the root with retries, chain runs with an
    approval's placeholder and a pending gate, two aliases, an agent, a message thread, the ledger."""
    peer = PeerDb(path)
    ids = {"root": peer.job("Backup", id="job-backup", payload_message="tar czf /tmp/b.tgz /etc",
                            max_retries=1, run_timeout_ms=60000),
           "agent": peer.job("Digest", id="job-digest", session_target="isolated", payload_kind="agentTurn",
                             payload_message="Summarise", delivery_mode="announce", delivery_to="@team_room"),
           "at": peer.job("Remind", id="job-remind", schedule_kind="at", schedule_at="2027-02-01 16:00:00",
                          schedule_cron="0 0 31 2 *", delete_after_run=1, session_target="main",
                          payload_kind="systemEvent", payload_message="Submit the report")}
    ids["child"] = peer.job("Upload", id="job-upload", parent_id=ids["root"], trigger_on="success",
                            approval_required=1, trigger_condition=r"regex:(?<n>\d+) files")
    ids["grand"] = peer.job("Alert", id="job-alert", parent_id=ids["child"], trigger_on="failure")
    ids["bad"] = peer.job("Profiled", id="job-profiled", session_target="isolated", payload_kind="agentTurn",
                          payload_message="Hi", auth_profile="anthropic:gmail")
    ids["bad_child"] = peer.job("After profiled", id="job-after", parent_id=ids["bad"], trigger_on="complete")
    _history(peer, ids)
    for alias, target in (("team_room", "-1000000001"), ("owner_dm", "1000000001")):
        peer.insert("delivery_aliases", alias=alias, channel="telegram", target=target)
    peer.insert("agents", id="main", name="Main Agent", capabilities=["*"])
    peer.insert("messages", id="m1", from_agent="ops", to_agent="main", kind="task", body="check disk",
                team_id="team-a")
    peer.insert("messages", id="m2", from_agent="main", to_agent="ops", body="done", reply_to="m1", status="read")
    peer.insert("idempotency_ledger", key="k" * 32, job_id=ids["root"], run_id="run-0",
                expires_at="2026-12-08 10:00:00")
    return peer, ids


def _history(peer: PeerDb, ids: dict[str, str]) -> None:
    for i in range(RUNS):
        stamp = f"2026-11-{1 + i // 100:02d} {i % 24:02d}:{i % 60:02d}:00"
        if i % 10 == 9:  # a failure and its retry, linked as the peer links them
            failed = peer.run(ids["root"], "error", id=f"run-{i}", started_at=stamp, retry_count=1,
                              error_message="Shell exited with code 1", shell_exit_code=1)
            peer.run(ids["root"], "ok", id=f"retry-{i}", started_at=stamp, retry_count=1, retry_of=failed,
                     triggered_by_run=failed)
        else:
            peer.run(ids["root"], "ok", id=f"run-{i}", started_at=stamp, summary=f"stdout:\n{i} files")
    placeholder = peer.run(ids["child"], "approved", id="gate-1", triggered_by_run="run-0")
    peer.insert("approvals", id="ap-1", job_id=ids["child"], run_id=placeholder, status="dispatched",
                resolved_by="operator", resolved_at="2026-12-01 10:00:05")
    peer.run(ids["child"], "error", id="upload-1", triggered_by_run="run-0", error_message="boom")
    peer.run(ids["grand"], "ok", id="alert-1", triggered_by_run="upload-1")
    peer.run(ids["child"], "awaiting_approval", id="gate-2", triggered_by_run="run-1")
    peer.insert("approvals", id="ap-2", job_id=ids["child"], run_id="gate-2", requested_at="2026-12-01 11:00:00")
    for n in range(5):
        peer.run(ids["bad"], "ok", id=f"profiled-{n}")


def source_runs(peer: PeerDb, job_id: str) -> Counter[str]:
    return Counter(r[0] for r in peer.db.execute("SELECT status FROM runs WHERE job_id = ?", (job_id,)))


def imported(run_cli, path, *extra: str, expect: int = 1) -> dict[str, Any]:
    out = run_cli("import", "openclaw-scheduler", str(path), "--json", *extra, expect=expect).output
    return dict(json.loads(out))


def test_every_job_and_its_history_come_over_and_a_second_import_changes_nothing(run_cli, store, tmp_path):
    peer, ids = build(tmp_path / "scheduler.db")
    report = imported(run_cli, peer.path)
    status = {j["id"]: j["status"] for j in report["jobs"]}
    assert status == {ids[k]: "imported" for k in ("root", "agent", "at", "child", "grand")} | {
        ids["bad"]: "refused", ids["bad_child"]: "refused"}
    listed = json.loads(run_cli("runs", "list", ids["root"], "5000", "--json").output)
    assert len(listed) == sum(source_runs(peer, ids["root"]).values()) == RUNS + RUNS // 10
    assert Counter(r["status"] for r in listed) == source_runs(peer, ids["root"])
    retry = next(r for r in listed if r["id"] == "retry-9")
    assert (retry["retry_of"], retry["triggered_by_run"], retry["trigger"]) == ("run-9", None, "retry")
    tree = json.dumps(json.loads(run_cli("runs", "tree", "upload-1", "--json").output))
    assert "run-0" in tree and "alert-1" in tree  # parent above, the failure child below, as in the source
    with store.read() as s:
        gates = {a.run_id: a.status for a in s.scalars(select(Approval))}
        assert gates == {"gate-1": "approved", "gate-2": "pending"}
        assert s.get(Run, "gate-2").status == "awaiting_approval" and s.get(Run, "gate-1").status == "skipped"
        assert {a.name for a in s.scalars(select(DeliveryAlias))} == {"team_room", "owner_dm"}
        thread = {m.id: m for m in s.scalars(select(Message))}
        assert thread["m2"].reply_to == "m1" and thread["m1"].metadata_["openclaw_scheduler"]["team_id"] == "team-a"
    upload = jobs.get(store, ids["child"])
    assert upload.approval_required and upload.trigger_condition == r"regex:(?P<n>[0-9]+) files"
    assert jobs.get(store, ids["at"]).schedule_cron is None
    again = imported(run_cli, peer.path)
    assert again["changed"] is False and again["totals"]["runs_added"] == 0
    assert {j["status"] for j in again["jobs"] if j["id"] not in (ids["bad"], ids["bad_child"])} == {"unchanged"}
    assert all(c["added"] == c["changed"] == 0 for c in again["records"].values())


def test_a_refused_job_names_the_field_and_the_fix_and_nothing_of_it_is_written(run_cli, store, tmp_path):
    peer, ids = build(tmp_path / "scheduler.db")
    report = {j["id"]: j for j in imported(run_cli, peer.path)["jobs"]}
    assert report[ids["bad"]]["field"] == "auth_profile" and "payload_model" in report[ids["bad"]]["reason"]
    assert report[ids["bad_child"]]["field"] == "parent_id"
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Run).where(Run.job_id == ids["bad"])) == 0
    text = run_cli("import", "openclaw-scheduler", str(peer.path), expect=1).output
    assert "refused" in text and "auth_profile" in text


def test_a_dry_run_reports_what_would_change_and_writes_nothing(run_cli, store, tmp_path):
    peer, ids = build(tmp_path / "scheduler.db")
    report = imported(run_cli, peer.path, "--dry-run")
    assert report["dryRun"] and report["totals"]["imported"] == 5 and report["totals"]["runs_added"] > RUNS
    assert jobs.count(store)["total"] == 0
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0


def test_a_changed_source_updates_the_job_and_adds_only_the_new_runs(run_cli, store, tmp_path):
    peer, ids = build(tmp_path / "scheduler.db")
    imported(run_cli, peer.path)
    peer.db.execute("UPDATE jobs SET name = 'Backup /etc' WHERE id = ?", (ids["root"],))
    peer.db.commit()
    peer.run(ids["root"], "ok", id="run-new", started_at="2026-12-02 00:00:00")
    report = {j["id"]: j for j in imported(run_cli, peer.path)["jobs"]}
    assert report[ids["root"]]["status"] == "updated" and report[ids["root"]]["runs_added"] == 1
    assert report[ids["agent"]]["status"] == "unchanged"
    assert jobs.get(store, ids["root"]).name == "Backup /etc"


@pytest.mark.parametrize("content", ["random", "foreign", "damaged"])
def test_a_corrupt_or_foreign_file_is_refused_whole_and_nothing_is_written(run_cli, store, tmp_path, content):
    path = tmp_path / "scheduler.db"
    if content == "random":
        path.write_bytes(b"\x00not sqlite at all" * 200)
    elif content == "foreign":
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE jobs (id TEXT, title TEXT)")
    else:
        peer, _ = build(path)
        peer.close()
        data = bytearray(path.read_bytes())
        data[4096:8192] = b"\xff" * 4096  # a page of the file overwritten
        path.write_bytes(bytes(data))
    out = run_cli("import", "openclaw-scheduler", str(path), expect=2)
    assert "path" in out.output or str(path) in out.output
    assert jobs.count(store)["total"] == 0


def test_the_import_is_an_api_route_behind_the_token(settings, redis, store, tmp_path):
    peer, ids = build(tmp_path / "scheduler.db")
    with TestClient(create_app(settings.with_(api_token=TOKEN)), raise_server_exceptions=False) as client:
        body = {"path": str(peer.path)}
        assert client.post("/v1/import/openclaw-scheduler", json=body).status_code == 401
        answer = client.post("/v1/import/openclaw-scheduler", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, answer.text
        report = answer.json()["import"]
        assert report["totals"]["imported"] == 5 and report["totals"]["refused"] == 2
        missing = client.post("/v1/import/openclaw-scheduler", json={"path": str(tmp_path / "none.db")},
                              headers={"Authorization": f"Bearer {TOKEN}"})
        assert missing.status_code == 422 and missing.json()["error"]["field"] == "path"
    assert jobs.get(store, ids["root"]).name == "Backup"


# openclaw-scheduler's schema v9 (its 1.0.0): no schedule_kind, no shell columns on runs, no dispatch queue,
# no team fields; a shell command was stored on an isolated target
V9_TABLES = {
    "jobs": "id TEXT PRIMARY KEY, name TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, schedule_cron TEXT NOT NULL,"
            " schedule_tz TEXT NOT NULL DEFAULT 'America/New_York', session_target TEXT NOT NULL DEFAULT 'isolated',"
            " agent_id TEXT DEFAULT 'main', payload_kind TEXT NOT NULL, payload_message TEXT NOT NULL,"
            " payload_model TEXT, payload_thinking TEXT, payload_timeout_seconds INTEGER DEFAULT 120,"
            " overlap_policy TEXT NOT NULL DEFAULT 'skip', run_timeout_ms INTEGER NOT NULL DEFAULT 300000,"
            " delivery_mode TEXT DEFAULT 'announce', delivery_channel TEXT, delivery_to TEXT,"
            " created_at TEXT NOT NULL DEFAULT (datetime('now')), updated_at TEXT NOT NULL DEFAULT (datetime('now')),"
            " delete_after_run INTEGER NOT NULL DEFAULT 0, parent_id TEXT, trigger_on TEXT,"
            " trigger_delay_s INTEGER DEFAULT 0, trigger_condition TEXT, max_retries INTEGER DEFAULT 0,"
            " queued_count INTEGER DEFAULT 0, payload_scope TEXT NOT NULL DEFAULT 'own', resource_pool TEXT,"
            " delivery_guarantee TEXT DEFAULT 'at-most-once', job_class TEXT DEFAULT 'standard',"
            " approval_required INTEGER DEFAULT 0, approval_timeout_s INTEGER DEFAULT 3600,"
            " approval_auto TEXT DEFAULT 'reject', context_retrieval TEXT DEFAULT 'none',"
            " context_retrieval_limit INTEGER DEFAULT 5, preferred_session_key TEXT, next_run_at TEXT,"
            " last_run_at TEXT, last_status TEXT, consecutive_errors INTEGER NOT NULL DEFAULT 0",
    "runs": "id TEXT PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
            " started_at TEXT NOT NULL DEFAULT (datetime('now')), finished_at TEXT, duration_ms INTEGER,"
            " last_heartbeat TEXT NOT NULL DEFAULT (datetime('now')), session_key TEXT, session_id TEXT,"
            " summary TEXT, error_message TEXT, dispatched_at TEXT, run_timeout_ms INTEGER NOT NULL DEFAULT 300000,"
            " retry_count INTEGER DEFAULT 0, retry_of TEXT, context_summary TEXT, replay_of TEXT, idempotency_key TEXT",
    "messages": "id TEXT PRIMARY KEY, from_agent TEXT NOT NULL, to_agent TEXT NOT NULL, reply_to TEXT,"
                " kind TEXT NOT NULL DEFAULT 'text', subject TEXT, body TEXT NOT NULL, metadata TEXT,"
                " priority INTEGER NOT NULL DEFAULT 0, channel TEXT, status TEXT NOT NULL DEFAULT 'pending',"
                " delivered_at TEXT, read_at TEXT, expires_at TEXT, created_at TEXT NOT NULL DEFAULT (datetime('now')),"
                " job_id TEXT, run_id TEXT, owner TEXT",
    "schema_migrations": "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now'))",
}


def test_an_older_schema_version_of_the_peer_is_imported_too(run_cli, store, tmp_path):
    import sqlite3

    path = tmp_path / "scheduler-v9.db"
    with sqlite3.connect(path) as db:
        for table, columns in V9_TABLES.items():
            db.execute(f"CREATE TABLE {table} ({columns})")
        db.executemany("INSERT INTO schema_migrations (version) VALUES (?)", [(v,) for v in range(1, 10)])
        db.execute("INSERT INTO jobs (id, name, schedule_cron, payload_kind, payload_message) VALUES "
                   "('job-529', 'Recovery', '*/10 * * * *', 'shellCommand', 'node recover.mjs')")
        db.execute("INSERT INTO jobs (id, name, schedule_cron, payload_kind, payload_message, delivery_mode) VALUES "
                   "('job-talk', 'Talk', '0 9 * * *', 'agentTurn', 'Good morning', 'none')")
        db.executemany("INSERT INTO runs (id, job_id, status, started_at, finished_at, duration_ms, summary) VALUES "
                       "(?, 'job-529', ?, '2026-02-22 10:00:00', '2026-02-22 10:00:02', 2000, ?)",
                       [(f"old-{i}", "ok" if i % 3 else "error", f"pass {i}") for i in range(30)])
        db.execute("INSERT INTO messages (id, from_agent, to_agent, body) VALUES ('m-old', 'ops', 'main', 'hi')")
    report = imported(run_cli, path, expect=0)
    assert {j["id"]: j["status"] for j in report["jobs"]} == {"job-529": "imported", "job-talk": "imported"}
    recovery = jobs.get(store, "job-529")
    assert (recovery.session_target, recovery.payload_kind, recovery.schedule_tz) == (
        "shell", "shellCommand", "America/New_York")
    listed = json.loads(run_cli("runs", "list", "job-529", "100", "--json").output)
    assert len(listed) == 30 and Counter(r["status"] for r in listed) == {"ok": 20, "error": 10}
    assert report["records"]["messages"]["added"] == 1
