"""Issue 15, "one home, one stack": a second ``clawsched up`` on a home refuses, naming the running one,
and leaves that one's ``redis.url`` alone; the lock goes with its process, even one killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from clawsched.cli import homelock
from clawsched.sched.errors import Conflict

pytestmark = pytest.mark.fast

HOLD = """
import sys, time
from pathlib import Path
from clawsched.cli import homelock
lock = homelock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "CLAWSCHED_HOME": str(home), "CLAWSCHED_DATABASE_URL": f"sqlite:///{home / 'c.db'}"}
    env.pop("CLAWSCHED_REDIS_URL", None)
    return env


def test_a_second_up_on_the_same_home_refuses_and_keeps_the_first_ones_redis_url(tmp_path):
    home = tmp_path / "home"
    first = homelock.acquire(home)  # the first stack, as `up` holds it
    (home / "redis.url").write_text("redis://127.0.0.1:6390/0\n")
    try:
        second = subprocess.run([sys.executable, "-m", "clawsched.cli", "up", "--no-worker", "--no-api"],
                                env=_env(home), capture_output=True, text=True, timeout=60, check=False)
    finally:
        homelock.release(first)
    assert second.returncode == 4, second.stderr
    assert f"pid {os.getpid()}" in second.stderr and str(home) in second.stderr
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    assert (home / "redis.url").read_text() == "redis://127.0.0.1:6390/0\n"


def test_the_lock_goes_with_its_process_even_a_killed_one(tmp_path):
    home = tmp_path / "home"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(Conflict, match=f"pid {holder.pid}"):
            homelock.acquire(home)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    again = homelock.acquire(home)
    homelock.release(again)
