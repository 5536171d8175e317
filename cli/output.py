"""Printing: tables for people, JSON for programs, and one mapping from errors to exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

LONG_LIST = 50


def emit_json(data: Any) -> None:
    if isinstance(data, list) and len(data) > LONG_LIST:
        # json's indenting encoder is pure Python (about 3x slower than the C one): a long list prints one
        # compact item per line, still valid JSON, so `jobs list --json` with thousands of jobs stays fast.
        items = ",\n".join("  " + json.dumps(item, default=_default, ensure_ascii=False) for item in data)
        click.echo(f"[\n{items}\n]")
        return
    click.echo(json.dumps(data, indent=2, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    click.echo(line.rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        click.echo("(none)")


def show(as_json: bool, data: Any, rows: list[list[Any]] | None = None, headers: list[str] | None = None) -> None:
    """``data`` as JSON; else ``rows`` as a table, or a one-object ``data`` as aligned ``key: value`` lines."""
    if as_json:
        emit_json(data)
    elif rows is not None and headers is not None:
        table(rows, headers)
    elif isinstance(data, dict):
        for line in key_values(data):
            click.echo(line)


MAX_VALUE_LINES = 20


def key_values(data: dict[str, Any]) -> list[str]:
    """``key: value`` lines, keys right-aligned; absent values print ``-``, nested ones as compact JSON, a
    multi-line text indented under its key (cut after ``MAX_VALUE_LINES`` lines)."""
    width = max((len(str(k)) for k in data), default=0)
    lines: list[str] = []
    for key, value in data.items():
        text = _value(value).splitlines() or [""]
        if len(text) > MAX_VALUE_LINES:
            text = [*text[:MAX_VALUE_LINES], f"... ({len(text) - MAX_VALUE_LINES} more lines)"]
        lines.append(f"{key:>{width}}: {text[0]}".rstrip())
        lines.extend(f"{'':>{width}}  {more}".rstrip() for more in text[1:])
    return lines


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    if isinstance(value, dict | list):
        return json.dumps(value, default=_default, ensure_ascii=False) if value else "-"
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def fail(exc: Exception, as_json: bool) -> None:
    """Report a ClawschedError and exit with its code: one line (the message already names the field and
    the fix), or with ``--json`` ``{ok: false, error: {code, message, field, exit}}`` as the API answers."""
    from clawsched.sched.errors import ClawschedError

    code = exc.exit_code if isinstance(exc, ClawschedError) else 1
    errors = getattr(exc, "errors", None) or []
    if as_json:
        error = {"code": type(exc).__name__, "message": str(exc), "field": getattr(exc, "field", None),
                 "exit": code, **({"candidates": exc.candidates} if hasattr(exc, "candidates") else {})}
        click.echo(json.dumps({"ok": False, "error": error, "errors": errors}, default=_default))
    else:
        click.echo(f"error: {exc}", err=True)
        for item in errors[1:]:
            click.echo(f"       {item.get('field')}: {item.get('message')}", err=True)
    sys.exit(code)
