"""``clawsched import openclaw-cron``: OpenClaw's legacy ``~/.openclaw/cron/jobs.json`` with every variant its
own migration accepts (``../shared/research/openclaw-gateway-contract.md`` section 5: the verified example
plus the listed legacy spellings), the ``jobs-state.json`` sidecar and the ``runs/<jobId>.jsonl`` history.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clawsched.sched import jobs
from clawsched.sched.importing.cron_legacy import TOP_OF_HOUR_STAGGER_MS

CREATED = 1767225600000
JOBS = [
    {"id": "job-morning", "agentId": "main", "name": "Morning brief", "description": "daily digest", "enabled": True,
     "createdAtMs": CREATED, "updatedAtMs": CREATED,
     "schedule": {"kind": "cron", "expr": "0 7 * * *", "tz": "Europe/Vienna", "staggerMs": 0},
     "sessionTarget": "isolated", "wakeMode": "next-heartbeat",
     "payload": {"kind": "agentTurn", "message": "Summarize overnight updates.", "model": "stub/stub-model",
                 "thinking": "low", "timeoutSeconds": 600},
     "delivery": {"mode": "announce", "channel": "telegram", "to": "111", "bestEffort": True},
     "failureAlert": {"after": 3, "channel": "telegram", "to": "111", "cooldownMs": 3600000},
     "state": {"nextRunAtMs": 1767250800000, "lastRunAtMs": 1767164400000, "lastStatus": "ok",
               "lastDurationMs": 4200, "consecutiveErrors": 0}},
    {"id": "job-reminder", "name": "Reminder", "enabled": True, "deleteAfterRun": True, "createdAtMs": CREATED,
     "schedule": {"kind": "at", "at": "2027-02-01T16:00:00Z"}, "sessionTarget": "main", "wakeMode": "now",
     "payload": {"kind": "systemEvent", "text": "Reminder: submit expense report."}, "state": {}},
    {"id": "job-every", "name": "Hourly check", "enabled": False, "createdAtMs": CREATED,
     "schedule": {"kind": "every", "everyMs": 3600000}, "sessionTarget": "isolated", "wakeMode": "now",
     "payload": {"kind": "agentTurn", "message": "Check queue depth."},
     "delivery": {"mode": "webhook", "to": "https://example.invalid/hook"}, "state": {}},
    {"jobId": "job-legacy", "name": "Legacy shaped", "createdAtMs": CREATED, "schedule": "*/30 * * * *",
     "payload": {"kind": "agentturn", "message": "Legacy payload", "deliver": True, "channel": "telegram",
                 "to": "111", "bestEffortDeliver": True}},
    # the other legacy spellings: no id, no name, schedule.cron, atMs, top-level text, provider, bad wakeMode,
    # an isolation object, notify, a top-of-hour cron, mode "deliver"
    {"schedule": {"cron": "0 * * * *"}, "message": "Top of the hour", "provider": "telegram", "to": "222",
     "wakeMode": "sometime", "isolation": {"kind": "x"}, "notify": True},
    {"id": "job-at-ms", "name": "At ms", "schedule": {"atMs": 1798761600000}, "text": "New year",
     "sessionTarget": "nowhere"},
    {"id": "job-deliver", "name": "Deliver mode", "schedule": {"kind": "cron", "expr": "15 6 * * 1"},
     "payload": {"kind": "AgentTurn", "message": "Weekly"}, "delivery": {"mode": "deliver", "to": "333"}},
]
RUN_LOG = [
    {"ts": 1767164404200, "jobId": "job-morning", "action": "finished", "status": "ok", "summary": "All quiet",
     "sessionId": "s-1", "sessionKey": "cron:job-morning", "runAtMs": 1767164400000, "durationMs": 4200,
     "model": "stub-model", "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
     "delivered": True},
    {"ts": 1767164400000, "jobId": "job-morning", "action": "started"},
    {"ts": 1767078004000, "jobId": "job-morning", "action": "finished", "status": "error", "error": "model down",
     "runAtMs": 1767078000000, "durationMs": 4000},
]


@pytest.fixture
def cron_dir(tmp_path):
    (tmp_path / "jobs.json").write_text(json.dumps({"version": 1, "jobs": JOBS}))
    (tmp_path / "jobs-state.json").write_text(json.dumps({"version": 1, "jobs": {"job-every": {
        "updatedAtMs": 1767300000000, "state": {"lastRunStatus": "error", "lastError": "boom",
                                                "consecutiveErrors": 2, "lastRunAtMs": 1767299000000}}}}))
    (tmp_path / "runs").mkdir()
    log = "\n".join(json.dumps(line) for line in RUN_LOG) + "\nnot json\n"
    (tmp_path / "runs" / "job-morning.jsonl").write_text(log)
    return tmp_path


def imported(run_cli, path, *extra: str) -> dict[str, Any]:
    return dict(json.loads(run_cli("import", "openclaw-cron", str(path), "--json", *extra).output))


def test_every_legacy_variant_is_imported_with_its_state_and_history(run_cli, store, cron_dir):
    report = imported(run_cli, cron_dir / "jobs.json")
    assert report["totals"]["imported"] == len(JOBS) and report["totals"]["refused"] == 0, report["jobs"]
    morning = jobs.get(store, "job-morning")
    assert (morning.schedule_cron, morning.schedule_tz, morning.payload_model) == (
        "0 7 * * *", "Europe/Vienna", "stub/stub-model")
    assert morning.delivery_mode == "announce-always" and morning.delivery_to == "111"
    assert morning.last_status == "ok" and morning.wake_mode == "next-heartbeat"
    every = jobs.get(store, "job-every")
    assert every.schedule_every_ms == 3600000 and every.schedule_anchor is not None and not every.enabled
    assert (every.last_status, every.consecutive_errors) == ("error", 2)  # the sidecar's state wins
    legacy = jobs.get(store, "job-legacy")
    assert (legacy.schedule_cron, legacy.delivery_channel, legacy.delivery_to) == ("*/30 * * * *", "telegram", "111")
    reminder = jobs.get(store, "job-reminder")
    assert reminder.schedule_kind == "at" and reminder.delete_after_run and reminder.session_target == "main"
    top = next(j for j in report["jobs"] if j["id"].startswith("cron-migrated-4-"))
    top_job = jobs.get(store, top["id"])
    assert top_job.stagger_ms == TOP_OF_HOUR_STAGGER_MS and top_job.name == "Top of the hour"
    assert top_job.wake_mode == "now" and top_job.delivery_to == "222"
    assert jobs.get(store, "job-at-ms").schedule_at.year == 2027
    assert jobs.get(store, "job-deliver").delivery_mode == "announce-always"
    listed = json.loads(run_cli("runs", "list", "job-morning", "--json").output)
    assert [(r["status"], r["duration_ms"], r["summary"]) for r in listed] == [
        ("ok", 4200, "All quiet"), ("error", 4000, None)]
    assert listed[0]["usage"]["total_tokens"] == 15 and listed[1]["error_message"] == "model down"
    assert any("not JSON" in note for note in report["notes"])


def test_a_second_import_reports_all_unchanged(run_cli, store, cron_dir):
    imported(run_cli, cron_dir / "jobs.json")
    again = imported(run_cli, cron_dir / "jobs.json")
    assert again["changed"] is False and {j["status"] for j in again["jobs"]} == {"unchanged"}
    assert "nothing changed" in run_cli("import", "openclaw-cron", str(cron_dir / "jobs.json")).output


def test_a_bare_list_is_a_store_too_and_a_dry_run_writes_nothing(run_cli, store, tmp_path):
    (tmp_path / "jobs.json").write_text(json.dumps(JOBS[:2]))
    report = imported(run_cli, tmp_path / "jobs.json", "--dry-run")
    assert report["dryRun"] and report["totals"]["imported"] == 2
    assert jobs.count(store)["total"] == 0


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "tasks": []}', '"a string"'])
def test_a_file_that_is_not_a_cron_store_is_refused_whole(run_cli, store, tmp_path, content):
    (tmp_path / "jobs.json").write_text(content)
    out = run_cli("import", "openclaw-cron", str(tmp_path / "jobs.json"), expect=2).output
    assert "jobs.json" in out
    assert jobs.count(store)["total"] == 0


def test_a_bad_entry_is_refused_naming_its_field_and_the_others_are_imported(run_cli, store, tmp_path):
    bad = {"id": "job-bad", "name": "Bad", "schedule": {"kind": "cron", "expr": "61 * * * *"},
           "payload": {"kind": "agentTurn", "message": "x"}}
    (tmp_path / "jobs.json").write_text(json.dumps({"jobs": [JOBS[1], bad, "junk"]}))
    out = run_cli("import", "openclaw-cron", str(tmp_path / "jobs.json"), "--json", expect=1).output
    outcome = {j["id"]: j for j in json.loads(out)["jobs"]}
    assert outcome["job-reminder"]["status"] == "imported"
    assert outcome["job-bad"]["status"] == "refused" and outcome["job-bad"]["field"] == "schedule_cron"
    assert outcome["#2"]["status"] == "refused"
    assert jobs.count(store)["total"] == 1
