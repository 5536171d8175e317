"""``clawsched worker`` as a real process (prefork), configured like a test's settings, for tests where a
fault must hit a worker that is not the test process: a dropped database connection, a wedged child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_for


def worker_env(settings: Any, **overrides: str) -> dict[str, str]:
    env = {**os.environ,
           "CLAWSCHED_DATABASE_URL": settings.database_url, "CLAWSCHED_REDIS_URL": settings.redis_url,
           "CLAWSCHED_NAMESPACE": settings.namespace, "CLAWSCHED_HOME": str(settings.home),
           "CLAWSCHED_HEARTBEAT_S": str(settings.heartbeat_interval_s),
           "CLAWSCHED_STALE_AFTER_S": str(settings.stale_after_s),
           "CLAWSCHED_REQUEUE_AFTER_S": str(settings.requeue_after_s), "CLAWSCHED_LOG_LEVEL": "WARNING"}
    env.update(overrides)
    return env


class WorkerProcess:
    """One ``clawsched worker`` in its own process group; its output goes to ``log``."""

    def __init__(self, env: dict[str, str], name: str, log: Path, concurrency: int, args: tuple[str, ...] = ()) -> None:
        self.name = f"{name}@%h"
        self.log_path = log
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clawsched.cli", "worker", "-c", str(concurrency), "--pool", "prefork",
             "-n", self.name, *args],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, app: Any, timeout: float = 30) -> None:
        node = self.name.replace("%h", socket.gethostname())
        wait_for(lambda: self.proc.poll() is None and app.control.ping(destination=[node], timeout=0.5),
                 timeout=timeout, what=f"worker {node} to answer a ping")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL of the whole group if a child does not let go."""
        for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
            if self.proc.poll() is not None:
                break
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=wait_s)
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # a wedged prefork child outlives its parent
        self.log.close()


@contextmanager
def worker_process(app: Any, settings: Any, log: Path, *, name: str = "w", concurrency: int = 2,
                   args: tuple[str, ...] = (), **env: str) -> Iterator[WorkerProcess]:
    """A ready worker process; ``env`` overrides its environment (``CLAWSCHED_DATABASE_URL=...``), ``args``
    go to ``clawsched worker`` (``("-Q", "gpu")``)."""
    worker = WorkerProcess(worker_env(settings, **env), name, log, concurrency, args)
    try:
        worker.wait_ready(app)
        yield worker
    finally:
        worker.stop()
