"""The real OpenClaw gateway, its stub model, its fake Telegram and the wire relay, in one namespace.

Ports are fixed: the namespace's loopback is this session's alone. clawsched talks to the relay
(``RELAY_PORT``), which passes bytes to the gateway (``GATEWAY_PORT``) and logs each request, so the tests
count what clawsched sent apart from what the gateway did by itself.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.contract.namespace import Namespace, Process
from tests.contract.toolchain import Toolchain
from tests.support.waiting import wait_for

HERE = Path(__file__).parent
GATEWAY_PORT, RELAY_PORT, MODEL_PORT, TELEGRAM_PORT = 18789, 18790, 18700, 18701
GATEWAY_TOKEN, HOOKS_TOKEN = "contract-gateway-token", "contract-hooks-token"
CHAT_ID = "111"
PROFILE, PROFILE_KEY = "stub:work", "stub-work-key"  # a second credential for the stub provider
READY_TIMEOUT_S = 150.0

PROBE = """
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except Exception as exc:
    print(getattr(exc, "code", 0))
"""


def config(workspace: Path) -> dict[str, object]:
    """The gateway's openclaw.json: loopback, token auth, HTTP endpoints on, the stub model, fake Telegram."""
    model = {"id": "stub-model", "name": "Stub Model", "reasoning": False, "input": ["text"],
             "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
             "contextWindow": 128000, "maxTokens": 4096}
    return {
        "gateway": {"mode": "local", "port": GATEWAY_PORT, "bind": "loopback",
                    "auth": {"mode": "token", "token": GATEWAY_TOKEN},
                    "http": {"endpoints": {"chatCompletions": {"enabled": True}, "responses": {"enabled": True}}},
                    "controlUi": {"enabled": False}},
        "update": {"checkOnStart": False},
        "telemetry": {"enabled": False},
        "models": {"mode": "replace", "catalogRefresh": {"enabled": False},
                   "providers": {"stub": {"baseUrl": f"http://127.0.0.1:{MODEL_PORT}/v1", "apiKey": "stub-key",
                                          "api": "openai-completions", "models": [model]}}},
        "agents": {"defaults": {"model": {"primary": "stub/stub-model"}, "workspace": str(workspace),
                                "heartbeat": {"every": "0m", "target": "none"}}},
        "discovery": {"mdns": {"mode": "off"}},
        "channels": {"telegram": {"enabled": True, "botToken": "123456:TEST-TOKEN",
                                  "apiRoot": f"http://127.0.0.1:{TELEGRAM_PORT}",
                                  "dmPolicy": "allowlist", "allowFrom": [CHAT_ID]}},
        "bindings": [{"agentId": "main", "match": {"channel": "telegram", "accountId": "default"}}],
        "hooks": {"enabled": True, "token": HOOKS_TOKEN, "path": "/hooks", "allowedAgentIds": ["main"],
                  "allowRequestSessionKey": True, "allowedSessionKeyPrefixes": ["hook:", "sched:", "clawsched:"]},
    }


@dataclass
class Gateway:
    ns: Namespace
    tools: Toolchain
    root: Path  # state, config, logs of this session's gateway
    process: Process | None = None
    telegram: Process | None = None
    starts: list[float] = field(default_factory=list)  # seconds each start took to /readyz 200

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self) -> dict[str, str]:
        state = self.home / ".openclaw"
        return {
            "PATH": f"{self.tools.node_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home),
            "OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json"),
            "TMPDIR": str(self.root / "tmp"), "LANG": "C.UTF-8",
            "OPENCLAW_NO_AUTO_UPDATE": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_NO_RESPAWN": "1",
            "OPENCLAW_EXEC_SHELL_SNAPSHOT": "0", "DO_NOT_TRACK": "1", "OPENCLAW_OFFLINE": "1",
            "OPENCLAW_TELEMETRY_ENDPOINT": "http://127.0.0.1:9/latest", "OPENCLAW_CLAWHUB_URL": "http://127.0.0.1:9",
            "CLAWHUB_DISABLE_TELEMETRY": "1",
        }

    def prepare(self) -> None:
        """Config and folders, and the fakes and the relay (which outlive gateway restarts)."""
        for folder in (self.logs, self.root / "tmp", self.home / ".openclaw", self.home / "workspace"):
            folder.mkdir(parents=True, exist_ok=True)
        (self.home / ".openclaw" / "openclaw.json").write_text(json.dumps(config(self.home / "workspace"), indent=1))
        done = self.ns.run([str(self.tools.node), str(self.tools.openclaw), "models", "auth", "paste-api-key",
                            "--provider", "stub", "--profile-id", PROFILE], env=self.env(), timeout=120,
                           input=f"{PROFILE_KEY}\n")
        assert done.returncode == 0, f"could not add the auth profile {PROFILE}: {done.stderr or done.stdout}"
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        py = sys.executable
        self.ns.spawn("model", [py, str(HERE / "stub_model.py"), str(MODEL_PORT), str(self.logs / "model.jsonl")],
                      env, self.logs / "model.out")
        self._start_telegram()
        self.ns.spawn("relay", [py, str(HERE / "wire_relay.py"), str(RELAY_PORT), str(GATEWAY_PORT),
                                str(self.logs / "wire.jsonl")], env, self.logs / "relay.out")

    def probe(self, path: str = "/readyz") -> int:
        done = self.ns.run([sys.executable, "-c", PROBE, f"http://127.0.0.1:{GATEWAY_PORT}{path}"], timeout=10)
        return int(done.stdout.strip() or 0)

    def start(self) -> None:
        """Start the gateway and return once ``/readyz`` answers 200."""
        assert self.process is None or not self.process.alive(), "the gateway is already running"
        began = time.monotonic()
        self.process = self.ns.spawn("gateway", [str(self.tools.node), str(self.tools.openclaw), "gateway", "run",
                                                 "--port", str(GATEWAY_PORT), "--bind", "loopback"],
                                     self.env(), self.logs / "gateway.out")
        wait_for(lambda: self._ready_or_dead(), timeout=READY_TIMEOUT_S, interval=0.5, what="gateway /readyz 200")
        assert self.process.alive(), f"the gateway exited ({self.process.popen.returncode}); see {self.logs}"
        self.starts.append(time.monotonic() - began)

    def _ready_or_dead(self) -> bool:
        assert self.process is not None
        return not self.process.alive() or self.probe() == 200

    def stop(self) -> None:
        """SIGTERM: the gateway drains in-flight turns and exits."""
        if self.process is not None:
            self.process.stop(signal.SIGTERM, timeout=60)

    def kill(self) -> None:
        """SIGKILL: in-flight turns are cut; the next start resumes them by itself."""
        if self.process is not None:
            self.process.stop(signal.SIGKILL, timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def ensure_running(self) -> None:
        if self.process is None or not self.process.alive():
            self.start()

    def _start_telegram(self) -> None:
        self.telegram = self.ns.spawn(
            "telegram", [sys.executable, str(HERE / "fake_telegram.py"), str(TELEGRAM_PORT),
                         str(self.logs / "telegram.jsonl"), str(self.logs / "telegram.mode")],
            {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, self.logs / "telegram.out")
        wait_for(lambda: self.ns.run([sys.executable, "-c", PROBE, f"http://127.0.0.1:{TELEGRAM_PORT}/botx/getMe"],
                                     timeout=10).stdout.strip() == "200", timeout=20, interval=0.2,
                 what="the fake Telegram to listen")

    def telegram_down(self, down: bool) -> None:
        """Telegram unreachable (its API refuses connections: nothing was sent, so the gateway's outbound
        queue replays the send once it is back), or back up. ``telegram_failing`` is the other outage."""
        if down and self.telegram is not None and self.telegram.alive():
            self.telegram.stop()
        elif not down and (self.telegram is None or not self.telegram.alive()):
            self._start_telegram()
        self.telegram_failing(False)

    def telegram_failing(self, failing: bool) -> None:
        """Telegram up but answering 500 to sends: the gateway cannot know whether a send arrived, so it
        refuses to replay it (its log: "delivery state is unknown_after_send; refusing blind replay")."""
        (self.logs / "telegram.mode").write_text("down" if failing else "up")
