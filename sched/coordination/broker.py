"""What the broker holds of clawsched's run messages: the run ids waiting in a queue's lists, and those a
worker took and has not acknowledged yet (kombu's Redis transport keeps them in its ``unacked`` hash
until the ack), read straight from Redis so the lost-message check does not depend on a worker answering.

kombu's layout, under the app's ``global_keyprefix`` (``<namespace>:``): one list per queue and priority
step (``<queue>``, ``<queue>\\x06\\x163``, ...) of JSON messages whose ``body`` is the base64 of the
task's ``[args, kwargs, embed]``; ``unacked`` maps a delivery tag to ``[message, exchange, routing_key]``.
A run message's only argument is the run id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from clawsched.sched.settings import Settings

PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)  # kombu's default ``priority_steps``
SCAN_BATCH = 1000


def queue_keys(settings: Settings, queue: str) -> list[str]:
    """The Redis lists of one Celery queue, one per priority step (step 0 has no suffix)."""
    base = settings.key(queue)
    return [base if step == 0 else f"{base}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


def unacked_key(settings: Settings) -> str:
    return settings.key("unacked")


class Held(NamedTuple):
    """Run ids the broker holds: ``waiting`` in a queue, ``taken`` by a worker that has not acked them."""

    waiting: set[str]
    taken: set[str]


def held(redis: Any, settings: Settings, queues: Iterable[str]) -> Held:
    """What the broker holds of run messages on ``queues`` (a few round trips per thousand messages)."""
    waiting: set[str] = set()
    for key in (k for q in sorted(set(queues)) for k in queue_keys(settings, q)):
        for start in range(0, redis.llen(key), SCAN_BATCH):
            waiting.update(_run_ids(redis.lrange(key, start, start + SCAN_BATCH - 1)))
    taken = set(_run_ids(entry for _, entry in redis.hscan_iter(unacked_key(settings), count=SCAN_BATCH)))
    return Held(waiting, taken)


def _run_ids(raw_messages: Iterable[bytes | str]) -> Iterator[str]:
    for raw in raw_messages:
        try:
            message = json.loads(raw)
            if isinstance(message, list):  # an unacked entry: [message, exchange, routing_key]
                message = message[0]
            args = json.loads(base64.b64decode(message["body"]))[0]
        except (ValueError, KeyError, IndexError, TypeError):
            continue  # not a run message (or one this reader does not know): never a reason to re-send
        if args and isinstance(args[0], str):
            yield args[0]
