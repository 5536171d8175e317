"""What every subcommand shares: the ``--json`` option, JSON arguments, and the one place errors become
exit codes. Command modules import this module, never ``main``: main -> command modules -> this."""

from __future__ import annotations

import functools
import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from clawsched.cli.output import fail

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def command(group: click.Group | None, name: str, *, short_lived: bool = False,
            **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A subcommand of ``group`` with ``--json`` and the one place errors become exit codes.

    With ``group=None`` it is a top-level command: ``main.COMMANDS`` names it and the root loads it.

    A ``short_lived`` command (a bounded read that prints and returns) runs with the cycle collector
    paused: importing SQLAlchemy and a driver otherwise triggers full collections over everything just
    imported (~40 ms of `jobs list` on PostgreSQL), and such a command makes no garbage cycles to collect.
    Never for a command that keeps running (worker, beat, up).
    """
    make = click.command if group is None else group.command

    def wrap(fn: Callable[..., Any]) -> click.Command:
        @functools.wraps(fn)
        def run(*args: Any, as_json: bool = False, **kw: Any) -> Any:
            from clawsched.sched.errors import ClawschedError

            try:
                with _collector_paused(short_lived):
                    return fn(*args, as_json=as_json, **kw)
            except ClawschedError as exc:
                fail(exc, as_json)

        return make(name, **kwargs)(json_option(click.pass_obj(run)))

    return wrap


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    resume = pause and gc.isenabled()
    if resume:
        gc.disable()
    try:
        yield
    finally:
        if resume:
            gc.enable()


def load_json(text: str, what: str = "job spec") -> dict[str, Any]:
    """A JSON object given inline, as ``@file.json`` or as ``-`` for stdin; a SpecError names ``what``."""
    from clawsched.sched.errors import SpecError

    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:]) as fh:
            text = fh.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                        "pass a JSON object, @file.json or - for stdin") from None
    if not isinstance(data, dict):
        raise SpecError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data
