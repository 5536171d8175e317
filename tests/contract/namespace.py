"""A loopback-only network namespace for the gateway, its fakes and every client, clawsched included.

On the development machine the internet is unreachable anyway (the gateway's plugin-feed fetch fails at
DNS and its start is no slower: measured 30 s to /readyz either way), so the namespace is not what keeps
the run offline here. It is used all the same: it makes the suite offline on any machine, whatever it can
reach, and gives each test session its own loopback, so fixed ports never collide with another session's
gateway. Creating one needs root; without it the contract suite skips (conftest.py says so once).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal as signals
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.waiting import wait_for


class NamespaceUnavailable(Exception):
    """No network namespace can be made here; the message says why."""


@dataclass
class Process:
    """A child started in the namespace, in its own process group, stopped by its own pid only."""

    name: str
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: signals.Signals) -> None:
        if self.alive():
            os.killpg(self.pid, sig)

    def stop(self, sig: signals.Signals = signals.SIGTERM, timeout: float = 60.0) -> None:
        """Send ``sig`` to the child's group and wait until the child has exited (SIGKILL past ``timeout``)."""
        self.signal(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signals.SIGKILL)
            self.popen.wait(10)


@dataclass
class Namespace:
    name: str
    processes: list[Process] = field(default_factory=list)

    @classmethod
    def create(cls, name: str) -> Namespace:
        if os.geteuid() != 0:
            raise NamespaceUnavailable("not root, so no network namespace (`ip netns add`) can be made")
        if shutil.which("ip") is None:
            raise NamespaceUnavailable("the `ip` command (iproute2) is missing, so no network namespace can be made")
        done = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if done.returncode != 0:
            raise NamespaceUnavailable(f"`ip netns add {name}` failed: {done.stderr.strip()}")
        ns = cls(name)
        ns.run(["ip", "link", "set", "lo", "up"], check=True)
        return ns

    def command(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 60.0,
            check: bool = False, input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
        return subprocess.run(self.command(args), env=dict(env) if env is not None else None, capture_output=True,
                              text=True, timeout=timeout, check=check, input=input)

    def spawn(self, name: str, args: Sequence[str], env: Mapping[str, str], log: Path) -> Process:
        """Start ``args`` detached in the namespace; its stdout and stderr go to ``log``."""
        with open(log, "ab") as out:
            popen = subprocess.Popen(self.command(args), env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name, popen)
        self.processes.append(process)
        return process

    def close(self) -> None:
        """Stop what this session started (by pid), then delete the namespace once it is empty."""
        for process in reversed(self.processes):
            process.stop(timeout=30)
        for pid in self._pids():  # only this session's children live here (an embedded Redis, say)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signals.SIGKILL)
        wait_for(lambda: not self._pids(), timeout=30, interval=0.2, what=f"namespace {self.name} to empty")
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, check=True)

    def _pids(self) -> list[str]:
        done = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        return done.stdout.split()
