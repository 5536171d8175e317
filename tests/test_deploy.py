"""The deployment files describe a fleet that exists (issue 18): the compose file validates and has the
topology (persisted PostgreSQL and Redis, the API, authenticated Flower, workers per queue), the systemd
units name the same processes as the compose services and pass ``systemd-analyze verify``, the env file
lists every setting, and the wheel holds every module of the checkout."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("clawsched-migrate.service", "clawsched-beat.service", "clawsched-worker@.service",
         "clawsched-api.service", "clawsched-flower.service")
RUN_ENV = {"CLAWSCHED_JOB_ID", "CLAWSCHED_JOB_NAME", "CLAWSCHED_RUN_ID", "CLAWSCHED_RETRY_COUNT"}  # set for jobs


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    return None


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text())
    return parser


def subcommand(argv: list[str]) -> list[str]:
    """``clawsched db upgrade -x`` -> ``["db", "upgrade"]``; ``clawsched worker -Q shell`` -> ``["worker"]``."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    return words[:2] if words[:1] == ["db"] else words[:1]


def test_compose_topology_persists_data_and_guards_every_door():
    spec = compose()
    services = spec["services"]
    assert {"redis", "postgres", "migrate", "beat-1", "beat-2", "worker-shell", "worker-agent", "api",
            "flower"} <= set(services)
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    assert {"postgres-data", "redis-data", "clawsched-home"} <= set(spec["volumes"])
    assert "--requirepass" in services["redis"]["command"]
    for name in ("migrate", "beat-1", "beat-2", "worker-shell", "worker-agent", "api", "flower"):
        env = services[name]["environment"]
        assert env["CLAWSCHED_DATABASE_URL"].startswith("postgresql://")
        assert re.match(r"redis://:[^@]+@redis:6379/", env["CLAWSCHED_REDIS_URL"]), name  # with the password
    for name in ("api", "flower"):
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"])  # loopback only
    assert "--no-auth" not in services["flower"]["command"]
    assert {"healthcheck"} <= set(services["api"]) and services["flower"]["depends_on"]["api"]
    queues = {services[w]["command"][services[w]["command"].index("-Q") + 1] for w in ("worker-shell", "worker-agent")}
    assert queues == {"shell", "agent"}


def test_units_and_compose_run_the_same_processes():
    served = {tuple(subcommand(s["command"])) for s in compose()["services"].values()
              if s.get("command") and s["command"][0] == "clawsched"}
    from_units = set()
    for name in UNITS:
        service = unit(name)["Service"]
        argv = service["ExecStart"].split()
        assert argv[0] == "/opt/clawsched/venv/bin/clawsched", name
        from_units.add(tuple(subcommand(argv)))
        assert service["User"] == "clawsched" and service["StateDirectory"] == "clawsched", name
        assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] in ("strict", "full"), name
        assert service["EnvironmentFile"] == "/etc/clawsched/clawsched.env", name
        assert name == "clawsched-migrate.service" or service["Restart"] == "always", name
    assert from_units == served == {("db", "upgrade"), ("beat",), ("worker",), ("api",), ("flower",)}
    assert "-Q %i" in unit("clawsched-worker@.service")["Service"]["ExecStart"]


def test_the_env_file_lists_every_setting_and_compose_sets_only_known_ones():
    code = "\n".join(p.read_text() for d in ("sched", "api", "cli", "workers") for p in (ROOT / d).rglob("*.py"))
    read = set(re.findall(r'"((?:CLAWSCHED|OPENCLAW)_[A-Z_]+)"', code)) - RUN_ENV
    read -= {"OPENCLAW_FIELDS", "OPENCLAW_AGENT_BUDGET_MS", "CLAWSCHED_EMBEDDED_REDIS_PORT"}  # constants; `up` only
    read -= {"CLAWSCHED_JSON", "CLAWSCHED_DEBUG"}  # a CLI invocation's own switches, not a process's settings
    listed = set(re.findall(r"^#? ?((?:CLAWSCHED|OPENCLAW)_[A-Z_]+)=", (DEPLOY / "clawsched.env.example").read_text(),
                            re.M))
    assert read - listed == set(), "settings missing from deploy/clawsched.env.example"
    for service in compose()["services"].values():
        assert set(service.get("environment") or {}) <= listed | {"REDIS_PASSWORD", "POSTGRES_USER",
                                                                    "POSTGRES_PASSWORD", "POSTGRES_DB"}


@pytest.mark.parametrize("service", ["migrate", "beat-1", "worker-shell", "api", "flower"])
def test_compose_commands_are_real_clawsched_commands(service):
    command = compose()["services"][service]["command"]
    assert command[0] == "clawsched"
    result = subprocess.run([sys.executable, "-m", "clawsched.cli", *subcommand(command), "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    for option in (w.split("=")[0] for w in command[1:] if w.startswith("-")):
        assert option in result.stdout, f"{service}: {option} is not an option of {subcommand(command)}"


def test_compose_file_validates_with_compose():
    cli = compose_cli()
    if cli is None:
        pytest.skip("SKIPPED: neither docker-compose nor docker compose is installed (.ci/run installs it)")
    result = subprocess.run([*cli, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_units_pass_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("SKIPPED: systemd-analyze is not installed; the units are not verified")
    clawsched = Path(sys.executable).with_name("clawsched")
    for name in UNITS:  # the installed path is this test's console script; an instance for the template
        text = (DEPLOY / name).read_text().replace("/opt/clawsched/venv/bin/clawsched", str(clawsched))
        (tmp_path / name.replace("@.", "@shell.")).write_text(text)
    files = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.services  # python -m build: a subprocess that takes seconds
@pytest.mark.timeout(600)
def test_the_wheel_holds_every_module(tmp_path):
    if subprocess.run([sys.executable, "-c", "import build"], capture_output=True).returncode != 0:
        pytest.skip("SKIPPED: the 'build' package is not installed (pip install build); the wheel is not checked")
    done = subprocess.run([sys.executable, "-m", "build", "-o", str(tmp_path), str(ROOT)],  # via the sdist
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("clawsched-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"clawsched/{p.relative_to(ROOT)}" for d in ("sched", "workers", "beat", "cli", "api")
               for p in (ROOT / d).rglob("*.py")}
    assert {n for n in names if n.endswith(".py")} == modules  # nothing stale (a build/ folder's leftovers)
    for folder in ("sched", "workers", "beat", "cli", "api"):
        for module in (ROOT / folder).rglob("*.py"):
            assert f"clawsched/{module.relative_to(ROOT)}" in names, f"{module} is not in the wheel"
