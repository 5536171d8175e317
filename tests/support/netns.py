"""Hosts for the fleet test: each a network namespace with a veth to one shared bridge, its own address
and its own hostname (a UTS namespace per process), on this machine. Root only (``ip netns``).

``Fleet`` makes the bridge and the hosts and removes them again; ``Host.spawn`` starts a process on a host
in its own process group, so a test can SIGKILL one host's worker, children and all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path


def available() -> str | None:
    """Why the fleet cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_NET_ADMIN)"
    for tool in ("ip", "unshare", "redis-server", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"csprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "ip netns add failed"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, ns: str | None = None) -> None:
    argv = ["ip", *(("-n", ns) if ns else ()), *args]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


@dataclass
class Host:
    name: str
    ns: str
    ip: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def argv(self, command: list[str]) -> list[str]:
        """``command`` run on this host: in its namespace, under its own hostname."""
        return ["ip", "netns", "exec", self.ns, "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"',
                self.name, *command]

    def spawn(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(self.argv(command), env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=Path(__file__).resolve().parents[2])
        self.procs.append(proc)
        return proc

    def run(self, command: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(self.argv(command), env=env, capture_output=True, timeout=timeout)


def kill(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal the process's whole group (a prefork worker's children too) and reap it."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


class Fleet:
    """A bridge ``<prefix>br`` at ``<subnet>.1`` and hosts at ``<subnet>.2`` on."""

    def __init__(self, prefix: str, subnet: str) -> None:
        self.prefix, self.subnet = prefix, subnet
        self.bridge = f"{prefix}br"
        self.hosts: dict[str, Host] = {}
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{subnet}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add(self, name: str) -> Host:
        index = len(self.hosts) + 2
        ns, outer, inner = f"{self.prefix}-{name}", f"{self.prefix}{index}a", f"{self.prefix}{index}b"
        _ip("netns", "add", ns)
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", ns)
        _ip("link", "set", outer, "master", self.bridge)
        _ip("link", "set", outer, "up")
        _ip("addr", "add", f"{self.subnet}.{index}/24", "dev", inner, ns=ns)
        _ip("link", "set", inner, "up", ns=ns)
        _ip("link", "set", "lo", "up", ns=ns)
        host = self.hosts[name] = Host(name, ns, f"{self.subnet}.{index}")
        return host

    def close(self) -> None:
        for host in self.hosts.values():
            for proc in host.procs:
                if proc.poll() is None:
                    kill(proc)
            subprocess.run(["ip", "netns", "del", host.ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
