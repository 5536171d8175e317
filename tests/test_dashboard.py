"""The dashboard's pages and buttons over HTTP (FastAPI's test client on the real app, SQLite and
PostgreSQL, a real Redis): the token gate, the cookie it sets, secrets kept masked, and forms that only
this dashboard can submit. tests/browser/ drives the same pages in Chromium with a worker running."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.sched import jobs, runs

TOKEN = "dash-s3cret-token"
SHELL_JOB = {"id": "dash-disk", "name": "Disk <check>", "schedule_cron": "*/15 * * * *", "schedule_tz": "Asia/Tokyo",
             "session_target": "shell", "payload_message": "df -h /", "run_timeout_ms": 60000,
             "env": {"DB_PASSWORD": "hunter2-very-secret"}}


@pytest.fixture
def client(settings, redis):
    app = create_app(settings.with_(api_token=TOKEN))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def _login(client: TestClient) -> None:
    answer = client.post("/ui/login", data={"token": TOKEN})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "the page has no form token"
    return found.group(1)


def test_pages_need_the_token_and_the_login_sets_a_strict_httponly_cookie(client):
    for path in ("/ui/", "/ui/jobs/x", "/ui/runs/x"):
        gone = client.get(path)
        assert gone.status_code == 303 and gone.headers["location"] == "/ui/login"
    wrong = client.post("/ui/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "not the API token" in wrong.text and "set-cookie" not in wrong.headers
    answer = client.post("/ui/login", data={"token": TOKEN})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    page = client.get("/ui/")
    assert page.status_code == 200 and "Jobs" in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_overview_shows_jobs_next_fire_in_their_zone_and_masks_env_values(client, store):
    jobs.create(store, SHELL_JOB)
    _login(client)
    page = client.get("/ui/").text
    assert "Disk &lt;check&gt;" in page and "<check>" not in page  # escaped, never markup
    assert "JST" in page  # next fire in Asia/Tokyo
    detail = client.get("/ui/jobs/dash-disk").text
    assert "DB_PASSWORD" in detail and "hunter2" not in detail and "***" in detail


def test_buttons_run_pause_and_resume_a_job_and_refuse_a_forged_form(client, store):
    jobs.create(store, SHELL_JOB)
    _login(client)
    csrf = _csrf(client.get("/ui/").text)
    forged = client.post("/ui/jobs/dash-disk/run", data={"csrf": "0" * 64, "back": "/ui/"})
    assert forged.status_code == 403 and runs.for_job(store, "dash-disk") == []
    ran = client.post("/ui/jobs/dash-disk/run", data={"csrf": csrf, "back": "/ui/jobs/dash-disk"})
    assert ran.status_code == 303 and ran.headers["location"].startswith("/ui/jobs/dash-disk?notice=run%20")
    [run] = runs.for_job(store, "dash-disk")
    assert run.trigger == "manual"
    assert run.id[:12] in client.get("/ui/").text and client.get(f"/ui/runs/{run.id}").status_code == 200
    client.post("/ui/jobs/dash-disk/pause", data={"csrf": csrf, "back": "/ui/"})
    assert jobs.get(store, "dash-disk").enabled is False
    client.post("/ui/jobs/dash-disk/resume", data={"csrf": csrf, "back": "https://evil.example/"})
    assert jobs.get(store, "dash-disk").enabled is True


def test_an_unknown_run_is_a_404_page_and_an_offsite_back_link_stays_home(client):
    _login(client)
    missing = client.get("/ui/runs/nope")
    assert missing.status_code == 404 and "not found" in missing.text
    csrf = _csrf(client.get("/ui/").text)
    answer = client.post("/ui/jobs/nope/run", data={"csrf": csrf, "back": "//evil.example/ui/"})
    assert answer.headers["location"].startswith("/ui/?notice=") and "not%20found" in answer.headers["location"]


def test_the_dashboard_stays_out_of_the_openapi_document(client):
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/ui")]


def test_messages_page_shows_the_latest_messages_between_agents(client, store):
    from clawsched.sched import messages

    messages.send(store, "planner", "coder", "build <it>", subject="next step", kind="task", priority=2)
    _login(client)
    page = client.get("/ui/messages").text
    assert "planner" in page and "coder" in page and "next step" in page and "build &lt;it&gt;" in page
