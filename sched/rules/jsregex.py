"""JavaScript regular expressions (as openclaw-scheduler's ``regex:`` conditions are written) in the
syntax and meaning of the engine that evaluates clawsched's conditions (``rules.chains``, the ``regex``
module, searched with its time bound).

The peer tests a condition with ``new RegExp(pattern).test(output)``: no flags, so JavaScript's
non-Unicode ("annex B") reading applies. Where the two engines spell or mean a construct differently, the
translation writes what JavaScript means:

- ``(?<name>...)`` and ``\\k<name>`` become ``(?P<name>...)`` and ``(?P=name)``;
- ``\\d``, ``\\w``, ``\\b`` are ASCII in JavaScript (Python's are Unicode), ``\\s`` is JavaScript's set;
- ``.`` does not match any line terminator (``\\n``, ``\\r``, U+2028, U+2029), ``$`` only the very end;
- ``[^]`` is any character, ``[]`` never matches, ``\\cJ`` is a control character, ``\\/`` a slash;
- a ``{`` that does not start a quantifier, a lone ``]`` or ``}``, and an escaped letter with no meaning
  (``\\e``, ``\\p`` without the ``u`` flag) are literal characters.

What has no equivalent (inline flags such as ``(?i)``, which JavaScript rejects anyway, a ``$`` in a group
name) is refused with the reason, as is a translation the engine still cannot compile. Pure.
"""

from __future__ import annotations

import re

import regex

_JS_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_OUTSIDE = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]", "s": f"[{_JS_SPACE}]",
            "S": f"[^{_JS_SPACE}]", "b": "(?a:\\b)", "B": "(?a:\\B)"}
_INSIDE = {"d": "0-9", "w": "A-Za-z0-9_", "s": _JS_SPACE, "b": "\\x08", "D": "\\D", "W": "\\W", "S": "\\S"}
_KEPT = frozenset("nrtfv")
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")
_GROUP_NAME = re.compile(r"\(\?<([^>=!]*)>")


class Untranslatable(ValueError):
    """The pattern has no equivalent in the condition engine; the message says why."""


def translate(pattern: str) -> str:
    """The JavaScript ``pattern`` as a pattern of the condition engine with the same meaning.

    Raises ``Untranslatable`` naming the construct (or the engine's own complaint) when there is none.
    """
    names = set(_GROUP_NAME.findall(pattern))
    for name in names:
        if not name.isidentifier():
            raise Untranslatable(f"the group name {name!r} is not possible here (letters, digits and _ only)")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        piece, i = _class(pattern, i) if pattern[i] == "[" else _outside(pattern, i, names)
        out.append(piece)
    translated = "".join(out)
    try:
        regex.compile(translated)
    except regex.error as exc:
        raise Untranslatable(f"it does not compile ({exc})") from None
    return translated


def _outside(p: str, i: int, names: set[str]) -> tuple[str, int]:
    """One token outside a character class, translated, and where the next one starts."""
    c = p[i]
    if c == "\\":
        return _escape(p, i, names, _OUTSIDE)
    if c == ".":
        return "[^\\n\\r\\u2028\\u2029]", i + 1
    if c == "$":
        return "\\Z", i + 1
    if c == "(" and p.startswith("(?", i):
        return _group(p, i)
    if c == "{":
        match = _QUANTIFIER.match(p, i)
        return (match.group(), match.end()) if match else ("\\{", i + 1)
    if c in "]}":
        return "\\" + c, i + 1
    return c, i + 1


def _group(p: str, i: int) -> tuple[str, int]:
    if p.startswith(("(?<=", "(?<!"), i):
        return p[i:i + 4], i + 4
    if p.startswith(("(?:", "(?=", "(?!"), i):
        return p[i:i + 3], i + 3
    if p.startswith("(?<", i):
        return "(?P<", i + 3
    raise Untranslatable(f"{p[i:i + 4]!r} at position {i} is not JavaScript (inline flags and Python's own "
                         "groups have no meaning there)")


def _escape(p: str, i: int, names: set[str], classes: dict[str, str]) -> tuple[str, int]:
    """A backslash escape at ``p[i]``, in or outside a class (``classes`` says which)."""
    if i + 1 >= len(p):
        raise Untranslatable("it ends with a lone backslash")
    c = p[i + 1]
    if c in classes:
        return classes[c], i + 2
    if c == "k" and names and (m := re.match(r"\\k<([^>]*)>", p[i:])):
        if m.group(1) not in names:
            raise Untranslatable(f"\\k<{m.group(1)}> refers to no group of that name")
        return f"(?P={m.group(1)})", i + m.end()
    if c == "c" and i + 2 < len(p) and p[i + 2].isascii() and p[i + 2].isalpha():
        return f"\\x{ord(p[i + 2]) % 32:02x}", i + 3
    if c == "u" and (m := re.match(r"\\u\{([0-9A-Fa-f]{1,6})\}", p[i:])):
        return f"\\U{int(m.group(1), 16):08x}", i + m.end()
    if c == "u" and re.match(r"\\u[0-9A-Fa-f]{4}", p[i:]):
        return p[i:i + 6], i + 6
    if c == "x" and re.match(r"\\x[0-9A-Fa-f]{2}", p[i:]):
        return p[i:i + 4], i + 4
    if c == "0" and not p[i + 2:i + 3].isdigit():
        return "\\x00", i + 2
    if c.isdigit() or c in _KEPT:
        return p[i:i + 2], i + 2
    return regex.escape(c), i + 2


def _class(p: str, i: int) -> tuple[str, int]:
    """A whole character class starting at ``p[i] == '['``, translated."""
    if p.startswith("[]", i):
        return "(?!)", i + 2
    if p.startswith("[^]", i):
        return "(?s:.)", i + 3
    out, j = ["["], i + 1
    if p.startswith("^", j):
        out.append("^")
        j += 1
    while j < len(p) and p[j] != "]":
        if p[j] == "\\":
            piece, j = _escape(p, j, set(), _INSIDE)
        else:
            piece, j = ("\\[" if p[j] == "[" else p[j]), j + 1
        out.append(piece)
    if j >= len(p):
        raise Untranslatable(f"the character class at position {i} is not closed")
    return "".join(out) + "]", j + 1


def condition_from_javascript(condition: str | None) -> str | None:
    """A trigger condition written for the peer (``regex:`` in JavaScript) in clawsched's terms;
    ``contains:`` and anything else come back as they were. Raises ``Untranslatable``."""
    if not isinstance(condition, str) or not condition.startswith("regex:"):
        return condition
    return "regex:" + translate(condition[len("regex:"):])
