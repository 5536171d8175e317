"""Which Celery queue a run goes to: by its job's target, or the job's own ``queue``.

Agent turns and shell commands are different work: an agent run waits on a gateway, a shell job may hold
a worker for an hour. On one queue a burst of long shell jobs kept agent runs waiting behind them (22
queued, 23-minute waits reported by OpenClaw users). So each run is routed to the queue its target names
(``shell``, or ``agent`` for every session target), or to the queue its job names (``queue: "gpu"``, a
job pinned to the hosts whose workers consume it). Workers pick queues (``clawsched worker -Q shell``).
Pure: names in, names out; the Celery name adds the installation's namespace.
"""

from __future__ import annotations

import re

SHELL = "shell"
AGENT = "agent"
DEFAULT_ROUTES = (SHELL, AGENT)
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_QUEUE = re.compile(QUEUE_PATTERN)


def route(session_target: str | None, queue: str | None) -> str:
    """The queue name of a job's runs: its own ``queue`` when set, else its target's."""
    if queue:
        return queue
    return SHELL if session_target == SHELL else AGENT


def celery_queue(namespace: str, name: str) -> str:
    """The broker's name of a route: ``clawsched.shell``; the namespace keeps installations apart."""
    return f"{namespace}.{name}"


def route_of(namespace: str, celery_name: str | None) -> str | None:
    """The route a message came in on (its routing key), or None for a queue outside this namespace."""
    prefix = f"{namespace}."
    if celery_name and celery_name.startswith(prefix):
        return celery_name[len(prefix):]
    return None


def parse_routes(text: str, *, field: str = "--queues") -> tuple[str, ...]:
    """``shell,agent,gpu`` as names, each checked; ValueError naming the bad one and the rule. ``:`` separates
    too: a systemd instance name cannot hold a comma (``clawsched-worker@shell:agent``)."""
    names = tuple(dict.fromkeys(n.strip() for n in re.split(r"[,:]", text) if n.strip()))
    if not names:
        raise ValueError(f"{field}: name at least one queue, e.g. shell,agent")
    for name in names:
        if not _QUEUE.match(name):
            raise ValueError(f"{field}: queue {name!r} must be 1-64 letters, digits, '_' or '-', "
                             "starting with a letter or digit")
    return names
