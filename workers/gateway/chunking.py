"""Chat messages have a length limit per channel: split long text into ordered chunks that fit."""

from __future__ import annotations

#: Longest text one chat message may carry, in UTF-16 code units (what Telegram and Discord count).
CHANNEL_LIMITS: dict[str, int] = {
    "telegram": 4096,
    "discord": 2000,
    "slack": 40000,
    "whatsapp": 4096,
    "signal": 4096,
    "imessage": 4096,
    "default": 4000,
}


def channel_limit(channel: str | None, target: str = "") -> int:
    """The limit of the channel named, or of the provider prefix of the target (``telegram:111``)."""
    name = channel or (target.split(":", 1)[0] if ":" in target else "")
    return CHANNEL_LIMITS.get(name.lower(), CHANNEL_LIMITS["default"])


def split_message(text: str, limit: int) -> list[str]:
    """Ordered chunks of at most ``limit`` UTF-16 units, cut at a line break, else a space, else hard.

    The whitespace a cut lands on is dropped, so the words of the chunks, in order, are the words of
    ``text``. UTF-16 units are counted because that is what Telegram and Discord limit; for text in the
    Basic Multilingual Plane it equals ``len``. Blank text gives no chunks.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2, got {limit}")
    chunks: list[str] = []
    rest = text
    while _units(rest) > limit:
        cut = _cut_at(rest, _fit(rest, limit))
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            chunks.append(head)
    if rest.strip():
        chunks.append(rest)
    return chunks


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units (astral characters take two)."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def _cut_at(text: str, fit: int) -> int:
    """Where to cut the first ``fit`` characters: a line break in the back half, else a space, else ``fit``."""
    if text[fit] == "\n":
        return fit
    window = text[:fit]
    newline = window.rfind("\n")
    if newline > fit // 2:
        return newline
    if text[fit].isspace():
        return fit
    space = max(window.rfind(" "), window.rfind("\t"), newline)
    return space if space > 0 else fit
