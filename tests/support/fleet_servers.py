"""PostgreSQL and Redis as servers on one host of the fleet test (``netns.Host``), to stop and start.

PostgreSQL is a private cluster (``initdb`` as the ``postgres`` user, trust auth on the fleet's subnet)
driven by ``pg_ctl``; Redis runs without persistence, so a restart loses every queued message, which is
the harder case for "restarting Redis loses no run".
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from tests.support.netns import Host, kill


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {tool} is not installed")
    return found[-1]


class Postgres:
    def __init__(self, host: Host, root: Path, subnet: str) -> None:
        self.host, self.data = host, root / "pg"
        self.data.mkdir(parents=True)
        shutil.chown(self.data, "postgres", "postgres")
        os.chmod(root, 0o755)
        self._as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"], ns=False)
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {subnet}.0/24 trust\n")
        self.url = f"postgresql://postgres@{host.ip}:5432/postgres"

    def _as_postgres(self, command: list[str], *, ns: bool = True) -> None:
        argv = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(self.host.argv(argv) if ns else argv, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]}: {done.stderr.decode()[-500:]}")

    def _ctl(self, *args: str) -> None:
        self._as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w", *args])

    def start(self) -> None:
        self._ctl("-o", f"-k {self.data} -c listen_addresses={self.host.ip} -c max_connections=200", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


class Redis:
    def __init__(self, host: Host, root: Path) -> None:
        self.host, self.root = host, root
        self.url = f"redis://:fleet-redis-pw@{host.ip}:6379/0"  # a password, as deploy/README.md says
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = self.host.spawn(["redis-server", "--bind", self.host.ip, "--port", "6379", "--save", "",
                                     "--appendonly", "no", "--dir", str(self.root),
                                     "--requirepass", "fleet-redis-pw"], dict(os.environ),
                                    self.root / "redis.log")

    def stop(self) -> None:
        if self.proc is not None:
            kill(self.proc)
            self.proc = None
