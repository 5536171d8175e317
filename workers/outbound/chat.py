"""A chat message, sent at most once per (run, kind, target) through the gateway's message tool.

``@alias`` targets are resolved here, at delivery time; a missing alias leaves a ``failed`` row naming
it. A send the gateway did not confirm (a 500 ``tool_error``, a timeout, a dropped connection) is
``unconfirmed``, never ``failed``: the real gateway keeps such a send in its durable outbound queue and
delivers it when the channel is back, so the row is never re-sent. Chat text is split to the
channel's limit by the gateway client. Nothing here can fail the run:
errors end in the ledger row.
"""

from __future__ import annotations

import logging

import httpx

from clawsched.sched import aliases
from clawsched.sched.errors import ClawschedError
from clawsched.sched.runtime import Runtime
from clawsched.sched.store import deliveries
from clawsched.sched.store.tables import utcnow

from ..gateway.client import UnconfirmedError, client_for
from ..metrics import counted_delivery

log = logging.getLogger(__name__)


@counted_delivery("chat")
def send_chat(rt: Runtime, run_id: str | None, kind: str, channel: str | None, to: str, text: str, *,
              markdown: bool = False) -> str:
    """Deliver ``text`` once for (run, kind, to), verbatim unless ``markdown`` (an agent's reply);
    returns the row's final status (or ``duplicate``)."""
    row = deliveries.claim(rt.store, run_id, kind, to, now=utcnow())
    if row is None:
        return "duplicate"
    try:
        resolved_channel, target = aliases.resolve(rt.store, channel, to)
        client_for(rt.settings).send_message(resolved_channel, target, text, markdown=markdown)
    except UnconfirmedError as exc:
        log.warning("delivery %s (%s) of run %s to %s unconfirmed: %s", row.id, kind, run_id, to, exc)
        deliveries.settle(rt.store, row.id, now=utcnow(), error=str(exc)[:2000], unconfirmed=True)
        return "unconfirmed"
    except (ClawschedError, httpx.HTTPError) as exc:
        log.warning("delivery %s (%s) of run %s to %s failed: %s", row.id, kind, run_id, to, exc)
        deliveries.settle(rt.store, row.id, now=utcnow(), error=str(exc)[:2000])
        return "failed"
    deliveries.settle(rt.store, row.id, now=utcnow())  # when it went out, after the send
    log.info("delivered %s of run %s to %s", kind, run_id, to)
    return "delivered"
