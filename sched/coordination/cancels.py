"""The cancel channel: tells every worker at once which runs were cancelled, so a running shell run
stops within moments on whichever host runs it, instead of at its next heartbeat.

The run row is the truth (a guarded UPDATE to ``cancelled``); this is only the fast path. A lost
message costs at most one heartbeat interval.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from clawsched.sched.settings import Settings

log = logging.getLogger(__name__)


def channel(settings: Settings) -> str:
    return settings.key("cancel")


def announce(redis: Any, settings: Settings, run_ids: Iterable[str]) -> bool:
    ids = list(run_ids)
    if not ids:
        return True
    try:
        redis.publish(channel(settings), json.dumps(ids))
        return True
    except Exception as exc:
        log.warning("could not announce cancelled runs %s (%s); workers notice at their next heartbeat", ids, exc)
        return False


def parse(data: Any) -> list[str]:
    if isinstance(data, bytes):
        data = data.decode()
    try:
        ids = json.loads(data)
    except (TypeError, ValueError):
        return []
    return [str(i) for i in ids] if isinstance(ids, list) else []
