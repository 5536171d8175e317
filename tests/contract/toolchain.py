"""Node 24 and ``openclaw@2026.9.6`` from the npm registry, installed once into a cache folder.

The cache is ``$CLAWSCHED_CONTRACT_CACHE``, else ``~/.cache/clawsched/contract``, outside the repository.
``node/`` holds the npm package ``node@24`` (a real Node binary from the registry), ``app/`` holds
``openclaw``, and ``installed.json`` is written last, so a cache without it is installed again. An
install takes about a minute; a lock file keeps two test sessions from installing at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NODE_SPEC = "node@24"
OPENCLAW_VERSION = "2026.9.6"
OPENCLAW_SPEC = f"openclaw@{OPENCLAW_VERSION}"
INSTALL_TIMEOUT_S = 600
PROBE_TIMEOUT_S = 60


class Unavailable(Exception):
    """The toolchain cannot be had here (no npm, the registry unreachable); the message says why."""


@dataclass(frozen=True)
class Toolchain:
    root: Path

    @property
    def node_bin(self) -> Path:
        return self.root / "node" / "node_modules" / ".bin"

    @property
    def node(self) -> Path:
        return self.node_bin / "node"

    @property
    def openclaw(self) -> Path:
        return self.root / "app" / "node_modules" / "openclaw" / "openclaw.mjs"

    @property
    def stamp(self) -> Path:
        return self.root / "installed.json"

    def installed(self) -> bool:
        if not (self.stamp.exists() and self.node.exists() and self.openclaw.exists()):
            return False
        return json.loads(self.stamp.read_text()).get("openclaw") == OPENCLAW_VERSION


def cache_root(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    given = environ.get("CLAWSCHED_CONTRACT_CACHE")
    return Path(given).expanduser() if given else Path.home() / ".cache" / "clawsched" / "contract"


def ensure(root: Path) -> Toolchain:
    """The installed toolchain under ``root``, installing it first when the cache is empty or partial."""
    tools = Toolchain(root)
    if tools.installed():
        return tools
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tools.installed():
            _install(tools)
    return tools


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not on PATH, so Node 24 and openclaw cannot be installed from the npm registry")
    return npm


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> None:
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"`{' '.join(args)}` took over {timeout:g}s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise Unavailable(f"`{' '.join(args)}` failed ({done.returncode}): {' | '.join(tail)}")


def _install(tools: Toolchain) -> None:
    npm = _npm()
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(NPM_CONFIG_AUDIT="false", NPM_CONFIG_FUND="false", NPM_CONFIG_UPDATE_NOTIFIER="false")
    try:
        _run([npm, "view", OPENCLAW_SPEC, "version"], tools.root, env, PROBE_TIMEOUT_S)
    except Unavailable as exc:
        raise Unavailable(f"the npm registry cannot be reached: {exc}") from exc
    tools.stamp.unlink(missing_ok=True)
    for part, spec in (("node", NODE_SPEC), ("app", OPENCLAW_SPEC)):
        folder = tools.root / part
        folder.mkdir(exist_ok=True)
        package = folder / "package.json"
        if not package.exists():
            package.write_text(json.dumps({"name": f"clawsched-contract-{part}", "private": True}))
        if part == "app":  # openclaw needs Node 24 for its install scripts, not the npm's own node
            env["PATH"] = f"{tools.node_bin}{os.pathsep}{env.get('PATH', '')}"
        _run([npm, "install", "--no-audit", "--no-fund", spec], folder, env, INSTALL_TIMEOUT_S)
    version = subprocess.run([str(tools.node), "--version"], capture_output=True, text=True, check=True).stdout
    if not version.startswith("v24."):
        raise Unavailable(f"{NODE_SPEC} from the registry installed node {version.strip()}, not v24")
    tools.stamp.write_text(json.dumps({"node": version.strip(), "openclaw": OPENCLAW_VERSION}))
