"""Text as a channel will render it: what a job printed is what the chat shows.

The real gateway's ``message`` tool takes no parse mode. Its Telegram sender reads the text as
Markdown, renders it to Telegram HTML and sends ``parse_mode: "HTML"``: ``a<b & c>d`` arrived as
``ad`` (an unknown tag dropped), ``2*3*4`` in italics, and ``&lt;b&gt;`` is turned back into a real
tag. Measured against openclaw 2026.9.6 (``tests/contract`` checks it on the real gateway):

* ``verbatim`` text (shell output, error messages, alerts) escapes Markdown punctuation with a
  backslash and ``& < >`` as HTML entities, so it arrives exactly as printed;
* ``markdown`` text (an agent's reply, written for a chat) keeps its Markdown and escapes only
  ``& < >``, so a ``<`` or ``&`` in it survives while ``**bold**`` still renders, as OpenClaw's own
  delivery of a reply would.

Both guard text that looks like a tag (``<b>``): the gateway re-tags an escaped one, so a word joiner
(U+2060, invisible) after the ``<`` keeps it text. Other channels are separate plugins in 2026.9 and
get the text unchanged.
"""

from __future__ import annotations

import re

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_TAG_LIKE = re.compile(r"&lt;(/?[A-Za-z])")
WORD_JOINER = "\u2060"
MARKDOWN_CHANNELS = frozenset({"telegram"})


def as_sent(channel: str | None, target: str, text: str, *, markdown: bool = False) -> str:
    """``text`` as the gateway must receive it for ``channel`` to show it as meant."""
    name = (channel or (target.split(":", 1)[0] if ":" in target else "")).lower()
    if name not in MARKDOWN_CHANNELS:
        return text
    if not markdown:
        text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _TAG_LIKE.sub(lambda m: f"&lt;{WORD_JOINER}{m.group(1)}", text)
