"""``clawsched up`` as a user starts it, in a test: a real supervisor with embedded Redis, SQLite, beat,
a worker and the API (with the dashboard) in its own home, on a port of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLI = [sys.executable, "-m", "clawsched.cli"]


@dataclass(frozen=True)
class Stack:
    home: Path
    api: str
    token: str
    env: dict[str, str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without the caller's CLAWSCHED_* settings: the stack names only its own home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWSCHED_")}
    env.update(CLAWSCHED_HOME=str(home), CLAWSCHED_HEARTBEAT_S="0.5", CLAWSCHED_LOG_LEVEL="WARNING", **extra)
    return env


@contextmanager
def up(home: Path, *, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start ``clawsched up`` and yield once its API answers; SIGTERM it (and so its children) on the way out."""
    port = port or free_port()
    env = dict(env or clean_env(home), CLAWSCHED_API_PORT=str(port))
    proc = subprocess.Popen([*CLI, "up"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        assert proc.stderr is not None
        for line in iter(proc.stderr.readline, ""):
            seen += line
            if "API on " in line:  # said once the API answers /health
                break
        else:
            raise AssertionError(f"`clawsched up` ended before its API answered:\n{seen}")
        # keep reading what the stack logs, so a full pipe never blocks it
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield Stack(home=home, api=f"http://127.0.0.1:{port}", token=(home / "api-token").read_text().strip(),
                    env=env)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
