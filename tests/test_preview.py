"""Fire preview: ``jobs next``, the API's ``/v1/jobs/{id}/next`` and ``jobs add --dry-run`` list the next
fires in UTC and the job's zone; across the 2026 daylight-saving changes in America/New_York each wall time
appears once, the fold and the gap marked."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs
from clawsched.sched.rules.preview import next_fires
from clawsched.sched.rules.schedules import Schedule
from clawsched.sched.states import ScheduleKind

NY = "America/New_York"
FALL_BACK, SPRING_FORWARD = "2026-11-01", "2026-03-08"


def job_spec(cron: str, **fields: Any) -> dict[str, Any]:
    return {"name": f"at {cron}", "schedule_cron": cron, "schedule_tz": NY, "session_target": "shell",
            "payload_message": "true", "run_timeout_ms": 60_000, **fields}


def invoke(settings: Any, *args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def walls(fires: list[dict[str, Any]]) -> list[str]:
    return [f["local"][:16] for f in fires]  # YYYY-MM-DDTHH:MM, local


@pytest.mark.parametrize(("cron", "start", "day", "mark", "local", "utc"), [
    ("30 1 * * *", "2026-10-30T00:00", FALL_BACK, "fold", "2026-11-01T01:30:00-04:00", "2026-11-01T05:30:00Z"),
    ("30 2 * * *", "2026-10-30T00:00", FALL_BACK, None, "2026-11-01T02:30:00-05:00", "2026-11-01T07:30:00Z"),
    ("30 1 * * *", "2026-03-06T00:00", SPRING_FORWARD, None, "2026-03-08T01:30:00-05:00", "2026-03-08T06:30:00Z"),
    ("30 2 * * *", "2026-03-06T00:00", SPRING_FORWARD, "gap", "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00Z"),
])
def test_jobs_next_lists_each_wall_time_once_across_dst_with_the_fold_and_gap_marked(
        store, settings, cron, start, day, mark, local, utc):
    job = jobs.create(store, job_spec(cron))

    shown = json.loads(invoke(settings, "jobs", "next", job.id, "5", "--from", start, "--json").output)

    fires = shown["fires"]
    assert len(fires) == 5 and shown["tz"] == NY
    days = ["10-30", "10-31", "11-01", "11-02", "11-03"] if day == FALL_BACK else ["03-06", "03-07", "03-08", "03-09",
                                                                                "03-10"]
    assert [f["local"][:10] for f in fires] == [f"2026-{m}" for m in days]
    assert max(Counter(walls(fires)).values()) == 1  # no wall time twice, none left out
    on_the_day = [f for f in fires if f["local"].startswith(day)]
    assert len(on_the_day) == 1
    assert (on_the_day[0]["local"], on_the_day[0]["utc"], on_the_day[0]["mark"]) == (local, utc, mark)
    assert [f["mark"] for f in fires if f is not on_the_day[0]] == [None] * 4
    if mark == "fold":
        assert "01:30 on 2026-11-01 happens twice (EDT, then EST); fires once, at the first" == on_the_day[0]["note"]
    if mark == "gap":
        assert on_the_day[0]["note"].startswith("02:30 does not exist on 2026-03-08")
    table = invoke(settings, "jobs", "next", job.id, "5", "--from", start).output
    assert local.replace("T", " ")[:16] in table.replace("T", " ") and (mark is None or f"{mark}:" in table)


def test_a_wildcard_cron_marks_both_passes_of_the_fold():
    schedule = Schedule(ScheduleKind.CRON, cron="*/30 1 * * *", tz=NY)
    fires = next_fires(schedule, datetime(2026, 11, 1, 4, tzinfo=UTC), 4)
    assert [(f.local.strftime("%H:%M %Z"), f.mark) for f in fires] == [
        ("01:00 EDT", "fold"), ("01:30 EDT", "fold"), ("01:00 EST", "fold"), ("01:30 EST", "fold")]
    assert [f.note.endswith(("first pass", "second pass")) for f in fires] == [True] * 4
    assert "second pass" in fires[2].note and "first pass" in fires[0].note


def test_the_preview_applies_the_stagger():
    plain = Schedule(ScheduleKind.CRON, cron="0 * * * *", seed="job-1")
    staggered = Schedule(ScheduleKind.CRON, cron="0 * * * *", stagger_ms=600_000, seed="job-1")
    start = datetime(2026, 6, 1, tzinfo=UTC)
    offset = staggered.offset
    assert timedelta(0) < offset < timedelta(minutes=10)
    assert [f.utc for f in next_fires(staggered, start, 3)] == [f.utc + offset for f in next_fires(plain, start, 3)]


def test_jobs_add_dry_run_shows_the_first_fires_and_writes_nothing(store, settings):
    out = json.loads(invoke(settings, "jobs", "add", "--dry-run", "--json", json.dumps(job_spec("30 2 * * *"))).output)

    assert out["dryRun"] is True and len(out["preview"]["fires"]) == 5
    assert all(f["local"][11:16] in ("02:30", "03:00") for f in out["preview"]["fires"])
    assert jobs.list_jobs(store) == []
    text = invoke(settings, "jobs", "add", "--dry-run", json.dumps(job_spec("30 2 * * *"))).output
    assert "would be added" in text and len([line for line in text.splitlines() if line.startswith("20")]) == 5
    assert jobs.list_jobs(store) == []


def test_a_bad_from_names_the_option(store, settings):
    job = jobs.create(store, job_spec("30 1 * * *"))
    result = CliRunner().invoke(cli, ["jobs", "next", job.id, "--from", "tomorrow"], obj=CliContext(settings))
    assert result.exit_code != 0 and "from: 'tomorrow' is not an ISO-8601 instant" in result.output
    assert "Traceback" not in result.output


def test_the_api_serves_the_preview(settings, store, redis):
    job = jobs.create(store, job_spec("30 1 * * *"))
    app = create_app(settings.with_(api_token="t"))
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": "Bearer t"}) as client:
        got = client.get(f"/v1/jobs/{job.id}/next", params={"n": 3, "from": "2026-10-31T00:00"})
        dry = client.post("/v1/jobs", params={"dry_run": "true"}, json=job_spec("30 2 * * *"))
        missing = client.get("/v1/jobs/nope/next")
        bad = client.get(f"/v1/jobs/{job.id}/next", params={"from": "soon"})
        documented = client.get("/openapi.json").json()["paths"]
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["from"] == "2026-10-31T04:00:00Z" and [f["mark"] for f in body["fires"]] == [None, "fold", None]
    assert dry.status_code == 201 and len(dry.json()["preview"]["fires"]) == 5
    assert missing.status_code == 404 and bad.status_code == 422 and bad.json()["error"]["field"] == "from"
    assert "/v1/jobs/{job_id}/next" in documented
