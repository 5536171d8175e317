"""`clawsched up` and `clawsched demo` as a user runs them: real processes, embedded Redis, SQLite."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.waiting import wait_for

CLI = [sys.executable, "-m", "clawsched.cli"]


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWSCHED_")}
    env.update(CLAWSCHED_HOME=str(home), CLAWSCHED_HEARTBEAT_S="0.5", CLAWSCHED_LOG_LEVEL="WARNING")
    return env


def clawsched(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def test_demo_shows_shell_runs(tmp_path):
    result = subprocess.run([*CLI, "demo", "--runs", "2", "--home", str(tmp_path), "--json"],
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert len(shown) == 2 and all(r["status"] == "ok" for r in shown)
    assert all("hello from clawsched run" in r["shell_stdout"] for r in shown)
    assert not (tmp_path / "redis.url").exists()  # the embedded Redis was stopped and forgotten


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_until(proc: subprocess.Popen[str], marker: str) -> str:
    assert proc.stderr is not None
    seen = ""
    for line in iter(proc.stderr.readline, ""):
        seen += line
        if marker in line:
            return seen
    raise AssertionError(f"`up` ended before it said {marker!r}:\n{seen}")


def test_up_serves_other_terminals_restarts_children_and_stops_cleanly(tmp_path):
    env = dict(clean_env(tmp_path), CLAWSCHED_API_PORT=str(_free_port()))
    up = subprocess.Popen([*CLI, "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        said = _read_until(up, "API on ")  # said once the API answers /health
        wait_for(lambda: len(_children(up.pid)) == 4, timeout=30, what="redis, beat, worker and API")
        api = f"http://127.0.0.1:{env['CLAWSCHED_API_PORT']}"
        token = (tmp_path / "api-token").read_text().strip()
        assert f"API on {api} (token: {tmp_path / 'api-token'})" in said and token not in said
        assert httpx.get(f"{api}/health", trust_env=False).json() == {"ok": True}
        assert httpx.get(f"{api}/v1/jobs", trust_env=False).status_code == 401
        listed = httpx.get(f"{api}/v1/jobs", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
        assert listed.status_code == 200 and listed.json()["total"] == 0
        spec = {"name": "hello", "schedule_cron": "0 0 1 1 *", "session_target": "shell",
                "payload_message": "echo from-up", "run_timeout_ms": 5000}
        added = json.loads(clawsched(env, "jobs", "add", json.dumps(spec), "--json").stdout)
        answer = json.loads(clawsched(env, "jobs", "run", added["job"]["id"], "--json").stdout)
        assert answer["enqueued"] is True and answer["beatWoken"] is True

        def finished() -> dict | None:
            run = json.loads(clawsched(env, "runs", "get", answer["runId"], "--json").stdout)
            return run if run["status"] == "ok" else None

        run = wait_for(finished, timeout=30, interval=0.2, what="the run to finish")
        assert run["shell_stdout"].strip() == "from-up"

        before = set(_children(up.pid))
        victim = max(before)  # any child: the supervisor must bring it back
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(set(_children(up.pid)) - before) == 1 and len(_children(up.pid)) == 4,
                 timeout=30, what="the killed child to be restarted")
    finally:
        children = _children(up.pid)
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=30)
    assert up.returncode == 0, up.stderr.read() if up.stderr else ""
    assert not any(_alive(p) for p in children)


def test_up_does_not_report_up_when_the_api_cannot_listen(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = dict(clean_env(tmp_path), CLAWSCHED_API_PORT=str(taken.getsockname()[1]))
        result = subprocess.run([*CLI, "up"], env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 6, result.stderr  # UnavailableError's exit code
    assert "the API exited at start" in result.stderr and "clawsched is up" not in result.stderr
    assert not (tmp_path / "redis.url").exists()  # everything it had started was stopped


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_no_child_of_up_outlives_it_however_and_whenever_it_dies(tmp_path, sig):
    """SIGKILL (no cleanup possible: the children get SIGTERM from the kernel when their parent dies), or a
    SIGTERM as soon as its children exist, before ``up`` has finished starting."""
    log = (tmp_path / "up.log").open("w")
    proc = subprocess.Popen([*CLI, "up", "--no-api"], env=dict(clean_env(tmp_path), CLAWSCHED_LOG_LEVEL="INFO"),
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        kids = wait_for(lambda: len(k := _children(proc.pid)) >= 2 and k, timeout=60, what="redis and beat to start")
    finally:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            said = [line for line in (tmp_path / "up.log").read_text().splitlines() if "clawsched.up" in line
                    or "Error" in line or "Interrupt" in line or "Traceback" in line]
            raise AssertionError("\n".join(said[:40])) from None
    wait_for(lambda: not any(_alive(k) for k in kids), timeout=30, what=f"up's children {kids} to die with it")
    wait_for(lambda: not _of_home(tmp_path), timeout=30, what="every process of the stack (started later too) to end")


def _of_home(home: Path) -> list[int]:
    """Live processes whose CLAWSCHED_HOME is ``home``: the whole stack, whenever each was started."""
    mark = f"CLAWSCHED_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or mark not in (entry / "environ").read_bytes().split(b"\0"):
                continue
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("command", [["--help"], ["jobs", "--help"], ["runs", "--help"], ["up", "--help"]])
def test_help_texts_exist(command):
    result = subprocess.run([*CLI, *command], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "Usage: clawsched" in result.stdout
