"""The field types of a job spec: strict coercers that reject what hand-written JSON gets wrong.

JSON typed by hand hides mistakes ("5" for 5, true for 1, a stray control character), so each coercer
accepts exactly the shapes openclaw-scheduler's JSON and SQLite rows carry and names what it got otherwise.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

# Control characters other than tab, LF and CR: they corrupt terminals, logs and shell commands.
# C0 controls and DEL, and the bidirectional controls that make a name read differently than it is
# ("evil\u202etxt.sh" shows as "evilhs.txt")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


def _strict_int(value: Any) -> Any:
    """Integers only: JSON's 5.0 is fine, "5" and true are not (they hide mistakes in hand-written JSON)."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type_name(value)}")
    return value


def _bool01(value: Any) -> Any:
    """Booleans as JSON true/false or the 0/1 that openclaw-scheduler's SQLite rows carry."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected a boolean (true/false or 0/1), got {value!r}")


def _text(value: Any) -> Any:
    """A string without control characters, which would corrupt terminals, logs and shell commands."""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type_name(value)}")
    if match := CONTROL_CHARS.search(value):
        raise ValueError(f"contains the control character {match.group()!r}; only tab and newlines are ok")
    return value


def required_text(value: Any) -> Any:
    """A string that says something: a blank name or message is a mistake, not a value."""
    if isinstance(_text(value), str) and not value.strip():
        raise ValueError("must not be empty")
    return value


def optional_text(value: Any) -> Any:
    """Empty or blank optional strings mean "not set", as in openclaw-scheduler."""
    if value is None:
        return None
    return None if not _text(value).strip() else value


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def environment(value: Any) -> Any:
    """A shell job's ``env``: names a shell can export, values without NUL (either made every run fail)."""
    if not isinstance(value, dict):
        return value  # the type check names it
    for name, text in value.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a variable name: use letters, digits and _, not starting with a digit")
        if isinstance(text, str) and "\x00" in text:
            raise ValueError(f"the value of {name} contains a NUL character, which no environment can hold")
    return value


def type_name(value: Any) -> str:
    """A JSON user's name for a value's type ("an object", not "dict"), for messages."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


INT_MAX = 2**31 - 1  # the store's integer columns are 32-bit: a bigger number must fail here, not in SQL
Int = Annotated[int, BeforeValidator(_strict_int), Field(ge=-INT_MAX - 1, le=INT_MAX)]
Bool = Annotated[bool, BeforeValidator(_bool01)]
Name = Annotated[str, Field(max_length=200), BeforeValidator(required_text)]
Message = Annotated[str, Field(max_length=100_000), BeforeValidator(required_text)]
Id = Annotated[str, Field(max_length=64, pattern=ID_PATTERN)] | None
Tz = Annotated[str, Field(max_length=128), BeforeValidator(required_text)]
S16 = Annotated[Annotated[str, Field(max_length=16)] | None, BeforeValidator(optional_text)]
S64 = Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(optional_text)]
S128 = Annotated[Annotated[str, Field(max_length=128)] | None, BeforeValidator(optional_text)]
S256 = Annotated[Annotated[str, Field(max_length=256)] | None, BeforeValidator(optional_text)]
S512 = Annotated[Annotated[str, Field(max_length=512)] | None, BeforeValidator(optional_text)]
S1024 = Annotated[Annotated[str, Field(max_length=1024)] | None, BeforeValidator(optional_text)]
S4096 = Annotated[Annotated[str, Field(max_length=4096)] | None, BeforeValidator(optional_text)]
S100K = Annotated[Annotated[str, Field(max_length=100_000)] | None, BeforeValidator(optional_text)]
Instant = AwareDatetime | None
