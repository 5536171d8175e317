"""The systemd units of a fleet, as text: what ``clawsched service install`` writes and what ``deploy/`` holds
(tests/test_service.py checks both say the same). ``{clawsched}`` is the installed console script,
``{sandbox}`` the settings every unit shares;
``deploy/`` names ``/opt/clawsched/venv/bin/clawsched``, the venv deploy/README.md makes.
"""

from __future__ import annotations

DEFAULT_CLAWSCHED = "/opt/clawsched/venv/bin/clawsched"
MARK = "# written by clawsched service install\n"

SANDBOX = """\
User=clawsched
Group=clawsched
EnvironmentFile=/etc/clawsched/clawsched.env
StateDirectory=clawsched
StateDirectoryMode=0750
WorkingDirectory=/var/lib/clawsched
NoNewPrivileges=yes
PrivateTmp=yes
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
"""
"""What every unit runs as and is kept from: one user, one state folder, no privileges gained."""

UNITS: dict[str, tuple[str, str]] = {  # role -> (file name, text)
    "migrate": ("clawsched-migrate.service", """\
# One-shot: bring the database schema to this release's head. Run before starting or upgrading the
# other units (they order themselves after it): systemctl start clawsched-migrate
[Unit]
Description=clawsched database migrations (clawsched db upgrade)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart={clawsched} db upgrade
{sandbox}
ProtectSystem=strict

[Install]
WantedBy=multi-user.target
"""),
    "beat": ("clawsched-beat.service", """\
# The scheduler: run it on two hosts for high availability (each fire still happens once).
[Unit]
Description=clawsched beat (SQL-driven scheduler)
After=network-online.target clawsched-migrate.service
Wants=network-online.target

[Service]
ExecStart={clawsched} beat
Restart=always
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=30
{sandbox}
ProtectSystem=strict

[Install]
WantedBy=multi-user.target
"""),
    "worker": ("clawsched-worker@.service", """\
# A worker for the queues named by the instance, separated by ':' (a unit name holds no comma):
# clawsched-worker@shell, clawsched-worker@agent, clawsched-worker@shell:agent, clawsched-worker@gpu.
# Concurrency: CLAWSCHED_WORKER_CONCURRENCY in the env file, or a drop-in overriding ExecStart with -c N.
[Unit]
Description=clawsched worker for queues %i
After=network-online.target clawsched-migrate.service
Wants=network-online.target

[Service]
ExecStart={clawsched} worker -Q %i -n %i@%H
Restart=always
RestartSec=2
KillSignal=SIGTERM
# a warm shutdown waits for running runs
TimeoutStopSec=600
{sandbox}
# shell jobs may write outside the state folder: /usr, /boot and /etc stay read-only
ProtectSystem=full

[Install]
WantedBy=multi-user.target
"""),
    "api": ("clawsched-api.service", """\
# The HTTP API (docs/api.md); every route but the probes needs the bearer token.
[Unit]
Description=clawsched HTTP API
After=network-online.target clawsched-migrate.service
Wants=network-online.target

[Service]
ExecStart={clawsched} api
Restart=always
RestartSec=2
TimeoutStopSec=30
{sandbox}
ProtectSystem=strict

[Install]
WantedBy=multi-user.target
"""),
    "flower": ("clawsched-flower.service", """\
# Flower, behind HTTP basic auth: user clawsched, password CLAWSCHED_FLOWER_PASSWORD or the API token.
[Unit]
Description=clawsched Flower dashboard
After=network-online.target clawsched-migrate.service
Wants=network-online.target

[Service]
ExecStart={clawsched} flower --address 127.0.0.1 --port 5555
Restart=always
RestartSec=2
TimeoutStopSec=30
{sandbox}
ProtectSystem=strict

[Install]
WantedBy=multi-user.target
"""),
}


def render(role: str, clawsched: str = DEFAULT_CLAWSCHED) -> tuple[str, str]:
    """The unit file of ``role`` (migrate, beat, worker, api, flower) running ``clawsched``: (name, text)."""
    name, text = UNITS[role]
    return name, text.replace("{sandbox}\n", SANDBOX).replace("{clawsched}", clawsched)
