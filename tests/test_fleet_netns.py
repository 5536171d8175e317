"""The fleet test (issue 18): the compose topology as plain processes, each host a network namespace with
a veth to one bridge and its own hostname. PostgreSQL and Redis on ``db``, beats on ``b1`` and ``b2``, shell
workers on ``w1`` and ``w2``, an agent worker (with the gateway stand-in) on ``wa``, the API on ``api``.

Over at least 500 fires of mixed jobs (shell every second, a shell job that offloads its output, an agent
job): a beat SIGKILLed, a worker SIGKILLed mid-run (at-most-once, then at-least-once), Redis restarted (no
persistence: every queued message lost), PostgreSQL stopped until both beats found it down. Then: each run
exactly once per fire, none lost, the killed at-most-once run ``crashed`` and not run again, the
at-least-once one crashed and replayed once, runs on the queue their target names with the host that ran
them, and the offloaded output of a run on ``w1``/``w2`` read in full on ``api`` (CLI and HTTP).
``pytest -m fleet`` runs it alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import netns
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.fleet, pytest.mark.services, pytest.mark.timeout(600)]

SUBNET = "10.213.7"
EVERY_S_JOBS = 12
BIG_LINES = 40_000  # `seq 1 40000`: 228 894 bytes, past the 64 KiB offload threshold
TOKEN = "fleet-api-token"


@pytest.fixture
def fleet() -> Iterator[dict[str, Any]]:
    why = netns.available()
    if why:
        pytest.skip(f"SKIPPED: the fleet test needs network namespaces: {why}")
    from tests.support.fleet_servers import Postgres, Redis

    root = Path(tempfile.mkdtemp(prefix="clawsched-fleet-"))
    hosts = netns.Fleet(f"cf{os.getpid() % 10000}", SUBNET)
    try:
        names = ("db", "b1", "b2", "w1", "w2", "wa", "api")
        made = {name: hosts.add(name) for name in names}
        pg, redis = Postgres(made["db"], root, SUBNET), Redis(made["db"], root)
        pg.start()
        redis.start()
        yield {"hosts": made, "pg": pg, "redis": redis, "root": root, "fleet": hosts}
    finally:
        hosts.close()
        try:
            pg.stop()
        except Exception:  # noqa: BLE001 - already stopped
            pass
        shutil.rmtree(root / "pg", ignore_errors=True)  # the cluster; the hosts' logs stay in root


def _env(fleet: dict[str, Any], host: str, **extra: str) -> dict[str, str]:
    pg, redis, root = fleet["pg"], fleet["redis"], fleet["root"]
    home = root / f"home-{host}"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWSCHED_", "OPENCLAW_"))}
    env.update({"CLAWSCHED_DATABASE_URL": pg.url, "CLAWSCHED_REDIS_URL": redis.url, "CLAWSCHED_HOME": str(home),
                "CLAWSCHED_NAMESPACE": "fleet", "CLAWSCHED_HEARTBEAT_S": "1", "CLAWSCHED_STALE_AFTER_S": "6",
                "CLAWSCHED_REQUEUE_AFTER_S": "5", "CLAWSCHED_LOG_LEVEL": "WARNING", "CLAWSCHED_API_TOKEN": TOKEN,
                "CLAWSCHED_BEAT_MAX_INTERVAL_S": "1", **extra})
    return env


def _cli(fleet: dict[str, Any], host: str, *args: str, **extra: str) -> Any:
    command = [sys.executable, "-m", "clawsched.cli", *args]
    return fleet["hosts"][host].run(command, _env(fleet, host, **extra))


def _start(fleet: dict[str, Any], host: str, *args: str, **extra: str) -> Any:
    log = fleet["root"] / f"{host}.log"
    return fleet["hosts"][host].spawn([sys.executable, "-m", "clawsched.cli", *args], _env(fleet, host, **extra),
                                      log)


GATEWAY = {"OPENCLAW_GATEWAY_URL": "http://127.0.0.1:18789", "OPENCLAW_GATEWAY_TOKEN": "test-gateway-token",
           "OPENCLAW_HOOKS_TOKEN": "test-hooks-token"}
STUB = ("import time; from tests.support.gateway_stub import GatewayStub; "
        "s = GatewayStub(port=18789); s.__enter__(); time.sleep(10**6)")


def _start_fleet(fleet: dict[str, Any]) -> dict[str, Any]:
    done = _cli(fleet, "b1", "db", "upgrade")
    assert done.returncode == 0, done.stderr.decode()
    procs = {"stub": fleet["hosts"]["wa"].spawn([sys.executable, "-c", STUB], _env(fleet, "wa"),
                                                fleet["root"] / "stub.log")}
    for host in ("b1", "b2"):
        procs[host] = _start(fleet, host, "beat")
    for host in ("w1", "w2"):
        procs[host] = _start(fleet, host, "worker", "-Q", "shell", "-c", "2", "-n", f"shell@{host}")
    procs["wa"] = _start(fleet, "wa", "worker", "-Q", "agent", "-c", "2", "-n", "agent@wa", **GATEWAY)
    procs["api"] = _start(fleet, "api", "api", "--host", fleet["hosts"]["api"].ip, "--port", "8765")
    wait_for(lambda: _live(fleet) == (2, 3), timeout=90, interval=1.0,
             what="two beats and three workers alive")
    return procs


def _live(fleet: dict[str, Any]) -> tuple[int, int]:
    done = _cli(fleet, "api", "status", "--json")
    try:
        checks = json.loads(done.stdout)["checks"]
    except (ValueError, KeyError):
        return (-1, -1)
    return len(checks["beat"]["live"]), len(checks["worker"]["live"])


def _jobs(store: Any, root: Path) -> dict[str, list[str]]:
    from clawsched.sched import jobs

    common = {"session_target": "shell", "run_timeout_ms": 60_000, "overlap_policy": "allow"}
    every = [jobs.create(store, {"name": f"tick {i}", "payload_message": "echo $CLAWSCHED_RUN_ID",
                                 "schedule_kind": "every", "schedule_every_ms": 1000, **common}).id
             for i in range(EVERY_S_JOBS)]
    big = jobs.create(store, {"name": "big", "payload_message": f"seq 1 {BIG_LINES}", "schedule_kind": "every",
                              "schedule_every_ms": 3000, **common}).id
    agent = jobs.create(store, {"name": "agent", "session_target": "isolated", "payload_message": "ping",
                                "delivery_mode": "none", "schedule_kind": "every", "schedule_every_ms": 2000}).id
    long = jobs.create(store, {"name": "long", "payload_message": "sleep 120", "schedule_kind": "cron",
                               "schedule_cron": "0 0 1 1 *", **common, "run_timeout_ms": 300_000}).id
    # at-least-once: its replay finds the mark the killed run left and ends at once
    mark = root / "long-again-ran"
    again = jobs.create(store, {"name": "long again", "payload_message": f"test -e {mark} || {{ touch {mark}; "
                                "sleep 120; }", "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *", **common,
                                "run_timeout_ms": 300_000, "delivery_guarantee": "at-least-once"}).id
    return {"every": every, "big": [big], "agent": [agent], "long": [long], "again": [again]}


def _runs(store: Any) -> list[Any]:
    from sqlalchemy import select

    from clawsched.sched.store.models import Run

    with store.read() as s:
        return list(s.scalars(select(Run)))


def _all_ended(store: Any) -> list[Any]:
    found = _runs(store)
    return found if all(r.finished_at for r in found) else []


def _kill_a_worker_mid_run(fleet: dict[str, Any], store: Any, procs: dict[str, Any], long: str) -> str:
    from clawsched.sched import jobs, runs

    run_id = jobs.run_now(store, long)
    running = wait_for(lambda: (r := runs.get(store, run_id)).status == "running" and r, timeout=30,
                       what="the long run to start")
    host = running.hostname
    assert host in ("w1", "w2"), host
    netns.kill(procs[host])
    procs[host] = _start(fleet, host, "worker", "-Q", "shell", "-c", "2", "-n", f"shell@{host}")
    return run_id


def _outages(fleet: dict[str, Any], store: Any, procs: dict[str, Any], ids: dict[str, list[str]]) -> dict[str, Any]:
    """The faults, in turn, each once the fleet has done some work since the last."""
    seen = lambda n: wait_for(lambda: len(_runs(store)) >= n, timeout=120, interval=0.5,  # noqa: E731
                              what=f"{n} runs")
    seen(60)
    netns.kill(procs["b1"])  # a beat SIGKILLed: b2 goes on alone
    seen(120)
    procs["b1"] = _start(fleet, "b1", "beat")
    killed = _kill_a_worker_mid_run(fleet, store, procs, ids["long"][0])
    replayed = _kill_a_worker_mid_run(fleet, store, procs, ids["again"][0])
    seen(200)
    fleet["redis"].stop()  # every queued message lost
    fleet["redis"].start()
    seen(300)
    down = datetime.now().astimezone()
    before = _beat_failures(fleet)
    fleet["pg"].stop()  # down until both beats have found it down: the fleet stalls, nobody steps in
    wait_for(lambda: all(n > b for n, b in zip(_beat_failures(fleet), before, strict=True)), timeout=60,
             interval=0.2, what="both beats to find the database down")
    fleet["pg"].start()
    up = datetime.now().astimezone()
    store.engine.dispose()  # the test's own pooled connections died with the server (the fleet's reconnect)
    return {"killed": killed, "replayed": replayed, "pg_down": down, "pg_up": up}


def _beat_failures(fleet: dict[str, Any]) -> list[int]:
    """How often each beat has logged that it could not reach the store (it retries on its own)."""
    return [(fleet["root"] / f"{b}.log").read_text(errors="replace").count("could not reach the store")
            for b in ("b1", "b2")]


def _gaps_outside(instants: list[datetime], window: tuple[datetime, datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive fires more than a second apart, except across the PostgreSQL outage (the beat then
    fires a late job once and skips the backlog: ``schedules.advance``)."""
    lo, hi = window[0] - timedelta(seconds=2), window[1] + timedelta(seconds=5)
    pairs = zip(instants, instants[1:], strict=False)
    return [(a, b) for a, b in pairs if b - a > timedelta(seconds=1) and not (a <= hi and b >= lo)]


def test_a_fleet_on_network_namespaces_survives_its_faults(fleet):
    from clawsched.sched import jobs
    from clawsched.sched.store.engine import Store

    store = Store(fleet["pg"].url)
    procs = _start_fleet(fleet)
    ids = _jobs(store, fleet["root"])
    faults = _outages(fleet, store, procs, ids)
    wait_for(lambda: sum(r.trigger == "schedule" for r in _runs(store)) >= 520, timeout=180, interval=0.5,
             what="520 fires")
    for job_id in [*ids["every"], *ids["big"], *ids["agent"]]:
        jobs.set_enabled(store, job_id, False)
    found = wait_for(lambda: _all_ended(store), timeout=120, interval=0.5, what="every run to end")
    _check(fleet, store, ids, faults, found)
    store.dispose()


def _check(fleet: dict[str, Any], store: Any, ids: dict[str, list[str]], faults: dict[str, Any],
           found: list[Any]) -> None:
    fires = [r for r in found if r.trigger == "schedule"]
    assert sum(r.status != "missed" for r in fires) >= 500  # fires that ran
    assert len({(r.job_id, r.scheduled_for) for r in fires}) == len(fires)  # no fire ran twice
    killed = next(r for r in found if r.id == faults["killed"])
    assert killed.status == "crashed", (killed.status, killed.error_message)  # at-most-once: not run again
    assert not [r for r in found if r.replay_of == killed.id or r.retry_of == killed.id]
    first = next(r for r in found if r.id == faults["replayed"])  # at-least-once: crashed, then run again
    (replay,) = [r for r in found if r.replay_of == first.id]
    assert (first.status, replay.status) == ("crashed", "ok"), (first.error_message, replay.error_message)
    lo, hi = faults["pg_down"] - timedelta(seconds=2), faults["pg_up"] + timedelta(seconds=5)
    missed = [r for r in found if r.status == "missed"]  # fires the outage made late, folded into one run
    assert all(lo <= r.scheduled_for <= hi for r in missed), [(r.scheduled_for, r.skip_reason) for r in missed]
    ended = {r.status for r in found if r.id not in (killed.id, first.id) and r.status != "missed" and not (
        r.status == "skipped" and "disabled" in (r.skip_reason or ""))}
    assert ended == {"ok"}, [(r.job_id, r.status, r.error_message or r.skip_reason) for r in found
                             if r.status != "ok"][:10]
    for job_id in ids["every"]:
        instants = sorted(r.scheduled_for for r in fires if r.job_id == job_id)
        assert not _gaps_outside(instants, (faults["pg_down"], faults["pg_up"])), job_id
    shell = [r for r in found if r.job_id not in ids["agent"] and r.status == "ok"]
    agent = [r for r in found if r.job_id in ids["agent"] and r.status == "ok"]
    assert agent and {(r.queue, r.hostname) for r in agent} == {("agent", "wa")}
    assert {r.queue for r in shell} == {"shell"} and {r.hostname for r in shell} == {"w1", "w2"}
    _check_output(fleet, store, [r for r in shell if r.job_id in ids["big"]])
    print(f"fleet: {len(fires)} fires, {len(agent)} agent runs on wa, shell on w1/w2: "
          f"{sum(r.hostname == 'w1' for r in shell)}/{sum(r.hostname == 'w2' for r in shell)}; "
          f"PostgreSQL down {(faults['pg_up'] - faults['pg_down']).total_seconds():.1f} s, {len(missed)} fires "
          "recorded missed in it")


def _check_output(fleet: dict[str, Any], store: Any, big: list[Any]) -> None:
    """A run that offloaded on w1 or w2, read in full on the api host: the CLI there, and its HTTP API."""
    expected = "".join(f"{i}\n" for i in range(1, BIG_LINES + 1))
    run = big[-1]
    assert run.shell_stdout_path and run.shell_stdout_bytes == len(expected)
    done = _cli(fleet, "api", "runs", "output", run.id)
    assert done.returncode == 0 and done.stdout.decode() == expected, done.stderr.decode()[-300:]
    url = f"http://{fleet['hosts']['api'].ip}:8765/v1/runs/{run.id}/output"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["output"] == expected
