"""One home, one stack: ``clawsched up`` holds an exclusive lock on ``CLAWSCHED_HOME/up.lock`` for as
long as it runs, so a second ``up`` on the same home refuses (naming the first) instead of starting a
second Redis and, on exit, deleting the first one's ``redis.url``. The lock is the kernel's (``flock``):
it goes with the process, even one killed with SIGKILL, so a stale file never blocks a restart."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO

from clawsched.sched.errors import Conflict

LOCK_NAME = "up.lock"


def acquire(home: Path) -> IO[str]:
    """Lock ``home`` for this process (keep the returned file open); Conflict when another stack holds it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_NAME
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the stack's lifetime
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(path)
        fh.close()
        raise Conflict(f"another clawsched up{holder} already runs on home {home}; use that stack (its "
                       "commands find it through this home), stop it first, or give this one another "
                       "CLAWSCHED_HOME") from None
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}) + "\n")
    fh.flush()
    return fh


def release(fh: IO[str] | None) -> None:
    if fh is not None and not fh.closed:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return ""
    return f" (pid {info['pid']}, since {info['started']})" if "pid" in info and "started" in info else ""
