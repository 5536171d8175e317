"""clawsched as a user runs it: ``clawsched up`` in the namespace, and CLI commands with ``--json``.

Delivery rows have no command of their own; they are read from the SQLite file of the home, read-only.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.contract.gateway import GATEWAY_TOKEN, HOOKS_TOKEN, RELAY_PORT
from tests.contract.namespace import Namespace, Process
from tests.support.waiting import wait_for

BIN = Path(sys.executable).parent
TERMINAL = {"ok", "error", "timeout", "cancelled", "crashed", "skipped", "rejected", "unconfirmed"}


@dataclass
class Clawsched:
    ns: Namespace
    home: Path
    process: Process | None = None

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.home),
            "CLAWSCHED_HOME": str(self.home),
            "OPENCLAW_GATEWAY_URL": f"http://127.0.0.1:{RELAY_PORT}",
            "OPENCLAW_GATEWAY_TOKEN": GATEWAY_TOKEN, "OPENCLAW_HOOKS_TOKEN": HOOKS_TOKEN,
            "CLAWSCHED_RETRY_SCALE": "0.01",  # a retry that should not happen would happen within a second
            "CLAWSCHED_BEAT_MAX_INTERVAL_S": "1",
        }

    def up(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = self.ns.spawn("clawsched", [str(BIN / "clawsched"), "up", "--no-api"], self.env(),
                                     self.home / "up.log")
        wait_for(self._ready, timeout=60, interval=0.3, what="clawsched up: database, Redis, beat and worker")

    def _ready(self) -> bool:
        assert self.process is not None and self.process.alive(), f"clawsched up exited; see {self.home}/up.log"
        status = self.cli("status", check=False)
        return isinstance(status, dict) and status.get("ok") is True

    def down(self) -> None:
        if self.process is not None:
            self.process.stop(signal.SIGTERM, timeout=30)

    def cli(self, *args: str, check: bool = True, stdin: str | None = None) -> Any:
        done = self.ns.run([str(BIN / "clawsched"), *args, "--json"], env=self.env(), timeout=60, input=stdin)
        if check and done.returncode != 0:
            raise AssertionError(f"clawsched {' '.join(args)} exited {done.returncode}: {done.stderr or done.stdout}")
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError:
            return done.stdout

    def add(self, spec: dict[str, Any]) -> str:
        """``clawsched jobs add`` (the spec's shape says its dialect); the new job's id."""
        out = self.cli("jobs", "add", "-", stdin=json.dumps(spec))
        return str(out.get("job", out)["id"])

    def run_now(self, job_id: str) -> str:
        return str(self.cli("jobs", "run", job_id)["runId"])

    def runs(self, job_id: str) -> list[dict[str, Any]]:
        return list(self.cli("runs", "list", job_id, "50"))

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.cli("runs", "get", run_id))

    def finished(self, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """The run once it is terminal and its post-run pipeline (retries, delivery, ...) has run."""
        def done() -> dict[str, Any]:
            run = self.run(run_id)
            return run if run["status"] in TERMINAL and run.get("finalized_at") else {}
        return wait_for(done, timeout=timeout, interval=0.3, what=f"run {run_id} finished and finalised")

    def deliveries(self, run_id: str) -> list[dict[str, Any]]:
        with sqlite3.connect(f"file:{self.home / 'clawsched.db'}?mode=ro", uri=True) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM deliveries WHERE run_id = ? ORDER BY created_at", (run_id,))
            return [dict(r) for r in rows]
