"""How a failed gateway answer becomes the error tree, with secrets kept out of the message.

``GatewayError``: the caller's or the gateway's configuration is wrong, so retrying will not help.
``TransientGatewayError``: the network or an upstream provider failed before anything happened, so
retrying may help. ``UnconfirmedError``: the request reached the gateway and no answer says what it did
(no answer in time, the connection dropped mid-answer, or the gateway failed while handling it): the
effect may have happened. The real gateway resumes a turn interrupted by its own restart and keeps a
failed channel send in its durable outbound queue, delivering it later, so repeating such a call
would do the work twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from clawsched.sched.errors import GatewayError, TransientGatewayError

TRANSIENT_STATUSES = frozenset({502, 503, 504})
#: The gateway failed while handling the request (``internal error``, a tool's ``tool_error``): what it
#: had done by then, or queued (a channel send), is unknown.
UNCONFIRMED_STATUSES = frozenset({500})


class UnconfirmedError(TransientGatewayError):
    """The gateway got the request; whether it took effect is unknown, so it is never repeated blindly."""


class GatewayTimeoutError(UnconfirmedError):
    """The gateway accepted the request but did not answer in time; the call may still have taken effect."""


class GatewayDisconnectedError(UnconfirmedError):
    """The connection dropped after the request was sent (a gateway crash or restart mid-answer)."""


def error_for(response: httpx.Response, what: str, secrets: Iterable[str | None]) -> GatewayError:
    """The error a non-2xx answer stands for: transient for 502-504 and provider errors, else permanent."""
    kind, message = error_fields(response)
    status = f"{response.status_code} {kind}" if kind else str(response.status_code)
    text = redact(f"gateway {what} failed ({status}): {message}", secrets)
    if response.status_code in UNCONFIRMED_STATUSES:  # before api_error: a failed turn also says api_error
        return UnconfirmedError(text + " (the gateway may still have done it)")
    if response.status_code in TRANSIENT_STATUSES or kind == "api_error":
        return TransientGatewayError(text)
    if response.status_code == 401:
        text += " (check OPENCLAW_GATEWAY_TOKEN, or OPENCLAW_HOOKS_TOKEN for /hooks)"
    return GatewayError(text)


def error_fields(response: httpx.Response) -> tuple[str | None, str]:
    """The gateway's error type and message, from either JSON shape or a plain-text body."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text.strip()[:500] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("type") or error.get("code"), str(error.get("message") or error)
    if isinstance(error, str):
        return None, error
    return None, json.dumps(body)[:500]


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Keep secrets out of messages even if the gateway ever echoes them."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
