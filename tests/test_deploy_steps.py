"""deploy/README.md followed step by step on a clean machine, as far as a test may (issue 18): the wheel
built by ``python -m build`` installed into a fresh venv, a fresh PostgreSQL role and database with the
README's grants, the env file from ``deploy/clawsched.env.example``, and the processes the systemd units
start (their ``ExecStart`` lines, ``%i``/``%H`` expanded) run from that venv: migrate, beat, a worker for
``shell:agent`` and the API. A job added with the venv's CLI runs on the fleet that makes."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]  # a build, a venv, pip: minutes when loaded
ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("CLAWSCHED_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CLAWSCHED_TEST_REDIS_URL")


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}: {done.stderr[-2000:]}"
    return done


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """README step 1: the wheel of this checkout, installed into a fresh venv."""
    if subprocess.run([sys.executable, "-c", "import build"], capture_output=True).returncode != 0:
        pytest.skip("SKIPPED: the 'build' package is not installed (pip install build); deploy steps not followed")
    _run([sys.executable, "-m", "build", "-o", str(tmp_path / "dist"), str(ROOT)])  # via the sdist: no stale build/
    (wheel,) = (tmp_path / "dist").glob("clawsched-*.whl")
    _run([sys.executable, "-m", "venv", str(tmp_path / "venv")])
    _run([str(tmp_path / "venv/bin/pip"), "install", "-q", str(wheel)])
    return tmp_path / "venv/bin/clawsched"


@pytest.fixture
def database() -> Iterator[str]:
    """README step 2: a role that owns its database, and the schema grants."""
    if not PG_URL or not REDIS_URL:
        pytest.skip("SKIPPED: CLAWSCHED_TEST_DATABASE_URL and CLAWSCHED_TEST_REDIS_URL are needed to follow deploy/")
    from clawsched.sched.store.engine import Store

    name = f"deploy_{os.getpid()}_{os.urandom(3).hex()}"
    admin = Store(PG_URL).engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
        conn.exec_driver_sql(f"CREATE DATABASE {name} OWNER {name}")
    base = PG_URL.rsplit("/", 1)[0].replace("://postgres@", f"://{name}@")
    owner = Store(f"{PG_URL.rsplit('/', 1)[0]}/{name}").engine.execution_options(isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO {name}")
    owner.dispose()
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
    admin.engine.dispose()


def _env_file(tmp_path: Path, database_url: str) -> dict[str, str]:
    """README step 4: the example env file with this machine's database, Redis and state folder."""
    text = (ROOT / "deploy/clawsched.env.example").read_text()
    namespace = f"deploy{os.getpid()}"
    text = re.sub(r"^CLAWSCHED_DATABASE_URL=.*$", f"CLAWSCHED_DATABASE_URL={database_url}", text, flags=re.M)
    text = re.sub(r"^CLAWSCHED_REDIS_URL=.*$", f"CLAWSCHED_REDIS_URL={REDIS_URL}", text, flags=re.M)
    text = re.sub(r"^CLAWSCHED_HOME=.*$", f"CLAWSCHED_HOME={tmp_path / 'state'}", text, flags=re.M)
    text = re.sub(r"^CLAWSCHED_NAMESPACE=.*$", f"CLAWSCHED_NAMESPACE={namespace}", text, flags=re.M)
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {"PATH": os.environ["PATH"], **values, "CLAWSCHED_API_PORT": str(_free_port())}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _exec_start(unit: str, clawsched: Path, instance: str = "") -> list[str]:
    """README step 5: what the unit runs, from the venv, with systemd's specifiers expanded."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string((ROOT / "deploy" / unit).read_text())
    line = parser["Service"]["ExecStart"].replace("%i", instance).replace("%H", socket.gethostname())
    argv = shlex.split(line)
    assert argv[0] == "/opt/clawsched/venv/bin/clawsched"
    return [str(clawsched), *argv[1:]]


def test_following_deploy_readme_gives_a_working_fleet(tmp_path, venv, database):
    env = _env_file(tmp_path, database)
    _run(_exec_start("clawsched-migrate.service", venv), env=env)
    procs = [subprocess.Popen(_exec_start(unit, venv, instance), env=env, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / f"{unit}.log").open("w"), start_new_session=True)
             for unit, instance in (("clawsched-beat.service", ""), ("clawsched-worker@.service", "shell:agent"),
                                    ("clawsched-api.service", ""))]
    try:
        cli = lambda *a: _run([str(venv), *a, "--json"], env=env)  # noqa: E731
        wait_for(lambda: json.loads(cli("status").stdout)["ok"], timeout=90, interval=1.0, what="a ready fleet")
        job = json.loads(cli("jobs", "add", json.dumps({
            "name": "deployed", "session_target": "shell", "payload_message": "echo deployed",
            "run_timeout_ms": 10_000, "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *"})).stdout)["job"]
        run_id = json.loads(cli("jobs", "run", job["id"]).stdout)["runId"]
        run = wait_for(lambda: (r := json.loads(cli("runs", "get", run_id).stdout))["finished_at"] and r,
                       timeout=60, interval=0.5, what="the run to finish")
        assert (run["status"], run["queue"], run["shell_stdout"].strip()) == ("ok", "shell", "deployed")
        queues = json.loads(cli("status").stdout)["queues"]
        assert {f"{env['CLAWSCHED_NAMESPACE']}.{q}" for q in ("shell", "agent")} <= set(queues)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
