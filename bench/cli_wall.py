"""6. CLI wall time: ``clawsched --version``, ``jobs list --json`` (1 000 jobs) and ``jobs add``, each the
median of ``repeats`` runs of the installed console script in a fresh process. Baseline: the same
interpreter starting and exiting (``python -c pass``): the floor any Python CLI pays.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .harness import Env, Figure, bulk_jobs, not_due, shell_spec


def _console_script() -> str:
    script = Path(sys.executable).with_name("clawsched")
    return str(script) if script.exists() else "clawsched"


def wall(argv: list[str], env: dict[str, str], repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return {"median_ms": statistics.median(times) * 1000, "min_ms": min(times) * 1000, "n": repeats}


def run(env: Env, jobs: int, repeats: int) -> list[Figure]:
    env.clear()
    bulk_jobs(env.store, jobs, shell_spec(name="listed"), not_due())
    env.analyze()
    cmd = _console_script()
    environ = env.environ()
    environ.pop("PYTHONPATH", None)  # what a user's shell has
    base = wall([sys.executable, "-c", "pass"], environ, repeats)
    version = wall([cmd, "--version"], environ, repeats)
    listed = wall([cmd, "jobs", "list", "--json"], environ, repeats)
    out = subprocess.run([cmd, "jobs", "list", "--json"], env=environ, capture_output=True, check=True)
    assert len(json.loads(out.stdout)) == jobs, "jobs list --json did not list every job"
    adds = []
    for i in range(repeats):
        spec = json.dumps(shell_spec(name=f"added {i} {os.getpid()}"))
        adds.append(wall([cmd, "jobs", "add", spec], environ, 1)["median_ms"])
    added = {"median_ms": statistics.median(adds), "min_ms": min(adds), "n": repeats}
    b = base["median_ms"]
    tag = f"({env.db})"
    return [
        Figure("cli", "clawsched --version", version["median_ms"], "ms", b, "python -c pass", "<= 150 ms",
               version["median_ms"] <= 150, extra=version),
        Figure("cli", f"jobs list --json, {jobs:,} jobs {tag}", listed["median_ms"], "ms", b, "python -c pass",
               "<= 400 ms", listed["median_ms"] <= 400, extra=listed),
        Figure("cli", f"jobs add {tag}", added["median_ms"], "ms", b, "python -c pass", "", None, extra=added),
    ]
