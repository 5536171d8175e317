"""``clawsched service install|uninstall`` writes the units deploy/ holds, running this clawsched, and
removes only what it wrote (issue 18)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.cli.units import MARK, UNITS, render
from clawsched.sched.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _cli(tmp_path: Path, *args: str) -> object:
    settings = Settings.from_env({"CLAWSCHED_HOME": str(tmp_path / "home")})
    return CliRunner().invoke(cli, ["service", *args], obj=CliContext(settings))


def test_deploy_holds_the_units_service_install_writes():
    for role in UNITS:
        name, text = render(role)
        assert (DEPLOY / name).read_text() == text, f"deploy/{name} differs from cli/units.py"


def test_install_then_uninstall(tmp_path):
    clawsched = Path(sys.executable).with_name("clawsched")
    result = _cli(tmp_path, "install", "--dest", str(tmp_path / "units"), "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)["written"]
    assert sorted(Path(w).name for w in written) == sorted(name for name, _ in UNITS.values())
    beat = (tmp_path / "units/clawsched-beat.service").read_text()
    assert beat.startswith(MARK) and f"ExecStart={clawsched} beat" in beat
    if shutil.which("systemd-analyze"):
        worker = tmp_path / "units/clawsched-worker@.service"
        shutil.copy(worker, tmp_path / "units/clawsched-worker@shell.service")
        files = [str(p) for p in sorted((tmp_path / "units").iterdir()) if p.name != worker.name]
        done = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr
        (tmp_path / "units/clawsched-worker@shell.service").unlink()
    else:
        print("SKIPPED: systemd-analyze is not installed; the installed units are not verified")
    (tmp_path / "units/clawsched-api.service").write_text("[Service]\nExecStart=/bin/true\n")  # an operator's own
    removed = json.loads(_cli(tmp_path, "uninstall", "--dest", str(tmp_path / "units"), "--json").output)["removed"]
    assert len(removed) == len(UNITS) - 1
    assert [p.name for p in (tmp_path / "units").iterdir()] == ["clawsched-api.service"]


def test_a_worker_only_host_and_a_bad_role(tmp_path):
    result = _cli(tmp_path, "install", "--roles", "migrate,worker", "--dest", str(tmp_path / "u"))
    assert result.exit_code == 0 and "clawsched-worker@shell:agent" in result.output
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == ["clawsched-migrate.service",
                                                                   "clawsched-worker@.service"]
    bad = _cli(tmp_path, "install", "--roles", "beat,gpu", "--dest", str(tmp_path / "v"))
    assert bad.exit_code == 2 and "gpu" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "v").exists()
