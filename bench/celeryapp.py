"""The worker the benchmarks run: clawsched's own Celery app (``create_app``, same configuration as
``clawsched worker``) with four bare tasks registered beside clawsched's, so every baseline runs on the
same worker processes, queue and broker as the figure it is compared with.

``celery -A bench.celeryapp worker -Q <ns>,<ns>.shell,<ns>.agent -c 2 -P prefork`` (the harness starts it).
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from celery import Celery

from clawsched.sched.settings import Settings
from clawsched.workers.app import create_app

KEY_PREFIX = "bench"
_redis: Any = None


def make_app(settings: Settings) -> Celery:
    app = create_app(settings)

    @app.task(name="bench.ping", ignore_result=True, shared=False)
    def ping(key: str) -> None:
        _client(app).rpush(key, time.time())

    @app.task(name="bench.stamp", ignore_result=True, shared=False)
    def stamp(sent: float, key: str) -> None:
        """Queue -> start of a bare task: the instant the body runs minus the instant before apply_async."""
        started = time.time()
        _client(app).rpush(key, started - sent)

    @app.task(name="bench.shell", ignore_result=True, shared=False)
    def shell(command: str, key: str) -> None:
        """The bare-Celery equivalent of a shell run: the same subprocess, no bookkeeping."""
        subprocess.run([app.clawsched_settings.shell, "-c", command], stdin=subprocess.DEVNULL,  # type: ignore[attr-defined]
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        _client(app).rpush(key, time.time())

    @app.task(name="bench.shell_stamp", ignore_result=True, shared=False)
    def shell_stamp(command: str, due: float, key: str) -> None:
        """Due -> started of a bare task running a subprocess: the subprocess's own clock reading (``command``
        prints it, as clawsched's probe jobs do) minus the instant the task was due."""
        out = subprocess.run([app.clawsched_settings.shell, "-c", command], stdin=subprocess.DEVNULL,  # type: ignore[attr-defined]
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
        _client(app).rpush(key, float(out) - due)

    return app


def _client(app: Celery) -> Any:
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(app.clawsched_settings.redis_url)  # type: ignore[attr-defined]
    return _redis


def __getattr__(name: str) -> Any:
    """``app`` for ``celery -A bench.celeryapp``, built from the environment on first use: importing
    ``make_app`` in the bench's own process needs no Redis configured."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()["app"] = make_app(Settings.from_env())
    return built
