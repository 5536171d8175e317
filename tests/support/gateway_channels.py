"""The stand-in gateway's chat channels: the ``message`` tool's sends, as the real gateway makes them.

Sends are not deduplicated. While a channel is down the real gateway answers an opaque ``tool_error``
and yet keeps the send in its durable outbound queue, delivering it when the channel is back; so does
this one (``down``, ``back()``), which is what makes a blind resend a duplicate.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from typing import Any

from tests.support.gateway_contract import PLATFORM_LIMITS, ToolFailure

_TAG = re.compile(r"<[^<>]*>")
_EMPHASIS = re.compile(r"(?<!\\)([*_`~])(.+?)(?<!\\)\1")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~])")
_RETAG = re.compile(r"&lt;(/?[A-Za-z][A-Za-z0-9-]*)(.*?)&gt;")


def shown_on_telegram(message: str) -> str:
    """What a Telegram chat displays for a ``message`` the gateway got, as its sender treats it: the
    text is Markdown, rendered to HTML (a raw tag is kept or dropped, never shown; an escaped one is
    turned back into a tag), so emphasis markers vanish, backslash escapes and entities resolve."""
    text = _TAG.sub("", message)
    text = _RETAG.sub("", text)  # the gateway re-tags ``&lt;b&gt;``; Telegram then shows no tag
    while (rendered := _EMPHASIS.sub(r"\2", text)) != text:
        text = rendered
    return html.unescape(_ESCAPED.sub(r"\1", text))


class Channels:
    """What reached each chat (``sent``), and what waits in the outbound queue while a channel is down."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.queued: list[dict[str, Any]] = []
        self.down = False
        self._ids = itertools.count(1000)

    def next_id(self) -> str:
        return str(next(self._ids))

    def send(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ``message`` tool's ``send``: the gateway's checks, then the chat (or the queue)."""
        if args.get("action") != "send":
            raise ToolFailure(f"Unsupported action: {args.get('action')}")
        channel, target = args.get("channel"), args.get("target") or args.get("to")
        if not target:
            raise ToolFailure("Action send requires a target.")
        prefix, _, rest = str(target).partition(":")
        if not channel and prefix in PLATFORM_LIMITS and rest:
            channel, target = prefix, rest
        text = args.get("message")
        if not channel:
            raise ToolFailure("Channel is required.")
        if not isinstance(text, str) or not text:
            raise ToolFailure("Action send requires a message.")
        if len(text) > PLATFORM_LIMITS.get(channel, 4000):
            raise ToolFailure(f"{channel}: message is too long ({len(text)} characters)")
        message_id = self.next_id()
        sent = {"channel": channel, "target": target, "message": text, "message_id": message_id, "args": args,
                "shown": shown_on_telegram(text) if channel == "telegram" else text}
        if self.down:
            self.queued.append(sent)
            raise ToolFailure(f"Channel is unavailable: {channel} (queued for redelivery)")
        self.sent.append(sent)
        details: dict[str, Any] = {"ok": True, "messageId": message_id, "chatId": target, "receipt": {}}
        return {"content": [{"type": "text", "text": json.dumps(details, indent=1)}], "details": details}

    def back(self) -> None:
        """The channel recovered: the outbound queue delivers what waited in it, once."""
        self.down = False
        self.sent.extend(self.queued)
        self.queued.clear()
