"""The deployment files describe processes that exist: every service command is a real clawsched command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    return None


def test_compose_topology_has_the_fleet_roles():
    services = compose()["services"]
    assert {"redis", "postgres", "migrate", "beat-1", "beat-2", "worker", "flower"} <= set(services)
    for name in ("beat-1", "beat-2", "worker", "flower"):
        env = services[name]["environment"]
        assert env["CLAWSCHED_DATABASE_URL"].startswith("postgresql://")
        assert env["CLAWSCHED_REDIS_URL"].startswith("redis://")
    assert all(p.startswith("127.0.0.1:") for p in services["flower"]["ports"])  # loopback only


@pytest.mark.parametrize("service", ["migrate", "beat-1", "worker"])
def test_compose_commands_are_real_clawsched_commands(service):
    command = compose()["services"][service]["command"]
    assert command[0] == "clawsched"
    result = subprocess.run([sys.executable, "-m", "clawsched.cli", *command[1:2], "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_compose_file_validates_with_compose_when_available():
    cli = compose_cli()
    if cli is None:
        pytest.skip("no docker compose / docker-compose on this machine")
    result = subprocess.run([*cli, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
