"""Fleet liveness as an operator meets it: ``clawsched status``, ``/readyz`` and ``jobs run`` tell the truth
about the database, the Redis actually in use, the live beats and workers, and the gateway.

Real Redis, a real Celery worker and a real beat (conftest's, heartbeat interval 0.25 s), SQLite and
PostgreSQL. "Redis down" is a closed port the settings point at, never another server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from clawsched.api.app import create_app
from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs, readiness
from clawsched.sched.coordination import presence
from clawsched.sched.errors import UnavailableError
from clawsched.sched.settings import Settings
from clawsched.sched.store.models import utcnow
from tests.conftest import BeatThread
from tests.support.services import free_port
from tests.support.waiting import wait_for

SHELL = {"name": "fleet probe", "session_target": "shell", "payload_message": "echo 1", "run_timeout_ms": 10_000,
         "schedule_kind": "every", "schedule_every_ms": 3_600_000}
FIELDS = {"kind", "id", "host", "pid", "version", "queues", "started_at", "interval_s", "age_s"}


def status_json(settings: Settings) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["status", "--json"], obj=CliContext(settings), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def status_text(settings: Settings) -> str:
    result = CliRunner().invoke(cli, ["status"], obj=CliContext(settings), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def api(settings: Settings, redis: Any) -> Any:
    with TestClient(create_app(settings.with_(api_token="t0ken"))) as client:
        yield client


def test_status_and_readyz_show_the_live_beat_and_worker_with_their_fields(settings, store, api, worker, beat):
    ready = wait_for(lambda: (r := api.get("/readyz")).status_code == 200 and r.json(), timeout=10)
    assert ready["ok"] is True and ready["missing"] == [] and ready["checks"]["redis"]["url"] == settings.redis_url
    (live_worker,) = ready["checks"]["worker"]["live"]
    (live_beat,) = ready["checks"]["beat"]["live"]
    assert FIELDS <= set(live_worker) and FIELDS <= set(live_beat)
    assert live_worker["kind"] == "worker" and live_worker["queues"] == sorted(settings.consumed_queues())
    assert live_worker["id"] == worker.hostname and live_beat["kind"] == "beat"
    assert live_beat["pid"] == live_worker["pid"]  # both run in this test process
    assert ready["checks"]["gateway"]["ok"] is False and ready["checks"]["gateway"]["required"] is False
    shown = status_json(settings)
    assert shown["ok"] is True and shown["checks"]["worker"]["live"][0]["id"] == worker.hostname
    text = status_text(settings)
    assert "beats: 1 alive" in text and "workers: 1 alive" in text
    assert f"queues={','.join(sorted(settings.consumed_queues()))}" in text
    assert f"queue: {settings.run_queue('shell')} depth=0 consumers={worker.hostname}" in text
    assert "gateway:" in text and "not ready" in text and "ready: yes" in text


def test_a_stopped_beat_is_reported_within_two_heartbeat_intervals(settings, store, app, api, worker):
    beat = BeatThread(app).start()
    wait_for(lambda: api.get("/readyz").status_code == 200, timeout=10, what="the fleet to be ready")
    beat.stop()
    stopped = time.monotonic()
    two_intervals = 2 * settings.heartbeat_interval_s
    gone = wait_for(lambda: (r := api.get("/readyz")).status_code == 503 and r.json(), timeout=two_intervals)
    assert time.monotonic() - stopped <= two_intervals + 0.5  # the last request's own time aside
    assert gone["missing"] == ["beat"] and "clawsched beat" in gone["remedies"]["beat"]
    assert status_json(settings)["missing"] == ["beat"]
    text = status_text(settings)
    assert "beats: NONE ALIVE" in text and "ready: NO: no beat is alive" in text


def test_a_beat_that_dies_without_withdrawing_ages_out_within_two_intervals(settings, store, redis):
    slow = settings.with_(heartbeat_interval_s=0.5)
    announcement = presence.Announcement.of("beat", slow, now=utcnow())
    announcer = presence.Announcer(redis, slow, announcement).start()
    assert [b["id"] for b in presence.live(redis, slow)["beat"]] == [announcement.id]
    announcer.stop(withdraw_now=False)  # what a SIGKILLed beat leaves: a key with time left on it
    stopped = time.monotonic()
    wait_for(lambda: not presence.live(redis, slow)["beat"], timeout=2 * slow.heartbeat_interval_s,
             what="the dead beat to stop counting as alive")
    assert time.monotonic() - stopped <= 2 * slow.heartbeat_interval_s + 0.1
    assert redis.exists(presence.member_key(slow, announcement.member))  # judged by age, before Redis drops it
    wait_for(lambda: not redis.exists(presence.member_key(slow, announcement.member)), timeout=3,
             what="Redis to drop the key after three intervals")


def test_with_redis_down_status_and_readyz_say_redis_is_down(settings, store):
    down = settings.with_(redis_url=f"redis://:secret@127.0.0.1:{free_port()}/0")
    with TestClient(create_app(down.with_(api_token="t0ken"))) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    report = answer.json()
    assert report["missing"] == ["redis"] and report["unknown"] == ["beat", "worker"]
    assert report["checks"]["redis"]["url"] == down.redis_url.replace(":secret@", "***@")
    assert "secret" not in answer.text and report["checks"]["redis"]["error"].startswith("down: ConnectionError")
    assert report["checks"]["database"]["ok"] is True
    shown = status_json(down)
    assert shown["ok"] is False and shown["missing"] == ["redis"] and shown["checks"]["redis"]["ok"] is False
    text = status_text(down)
    assert "redis: redis://***@127.0.0.1:" in text and "-- down: ConnectionError" in text and "redis is down" in text


def test_without_a_configured_redis_nothing_falls_back_to_a_default_server(tmp_path, settings, store):
    env = {"CLAWSCHED_HOME": str(tmp_path), "CLAWSCHED_DATABASE_URL": settings.database_url}
    bare = Settings.from_env(env)
    assert bare.redis_url == "" and bare.redis_origin == "none"
    with pytest.raises(UnavailableError, match="CLAWSCHED_REDIS_URL is not set and no `clawsched up`"):
        bare.require_redis_url()
    shown = status_json(bare)
    assert shown["missing"] == ["redis"] and shown["checks"]["redis"]["url"] is None
    assert "not configured" in shown["checks"]["redis"]["error"]
    assert "ready: NO: no Redis is configured" in status_text(bare)
    (tmp_path / "redis.url").write_text("redis://127.0.0.1:6390/0\n")  # what `clawsched up` leaves for others
    embedded = Settings.from_env(env)
    assert embedded.redis_url == "redis://127.0.0.1:6390/0" and "redis.url" in embedded.redis_origin
    assert Settings.from_env({**env, "CLAWSCHED_REDIS_URL": "redis://h:1/2"}).redis_origin == "CLAWSCHED_REDIS_URL"


def test_jobs_run_says_when_no_worker_is_alive_and_still_enqueues(settings, store, redis):
    job = jobs.create(store, SHELL)
    result = CliRunner().invoke(cli, ["jobs", "run", job.id], obj=CliContext(settings), catch_exceptions=False)
    assert result.exit_code == 0
    assert "queued" in result.stdout and "no worker is alive to take it" in result.stderr
    assert "will wait until one starts" in result.stderr
    answer = json.loads(CliRunner().invoke(cli, ["jobs", "run", job.id, "--json"], obj=CliContext(settings)).stdout)
    assert answer["enqueued"] is True and answer["workersLive"] == 0 and "no worker" in answer["warning"]


def test_jobs_run_is_quiet_when_a_worker_is_alive(settings, store, redis, worker):
    job = jobs.create(store, SHELL)
    wait_for(lambda: presence.live(redis, settings)["worker"], timeout=10, what="the worker's announcement")
    result = CliRunner().invoke(cli, ["jobs", "run", job.id, "--json"], obj=CliContext(settings))
    answer = json.loads(result.stdout)
    assert answer["workersLive"] == 1 and "warning" not in answer and result.stderr == ""


def test_the_gateway_is_reported_but_never_required(settings, store, redis):
    report = readiness.check(settings, store, gateway_ready=lambda: False)
    assert report["checks"]["gateway"] == {"url": settings.gateway_url, "required": False, "ok": False,
                                           "note": "agent runs wait for it; shell runs are not affected"}
    assert "gateway" not in report["missing"] + report["unknown"]
    assert readiness.check(settings, store, gateway_ready=lambda: True)["checks"]["gateway"]["ok"] is True
