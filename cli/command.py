"""What every subcommand shares: the ``--json`` option (before or after the command), JSON arguments,
negative numbers as arguments, and the one place errors become exit codes. Command modules import this
module, never ``main``: main -> command modules -> this."""

from __future__ import annotations

import functools
import gc
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from click.parser import _OptionParser, _ParsingState

from clawsched.cli.output import fail

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

JSON_META = "clawsched.json"
JSON_ENV = "CLAWSCHED_JSON"
NEGATIVE_NUMBER = re.compile(r"^-\d+(\.\d+)?$")


def take_json_flag(ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` without any ``--json`` (wherever it stands, even after ``--``); remembered on the root
    context, so `clawsched --json runs list JOB` and `... runs list JOB --json` mean the same."""
    if "--json" in args:
        ctx.meta[JSON_META] = True
    return [a for a in args if a != "--json"]


def json_wanted() -> bool:
    """Whether this invocation asked for JSON: ``--json`` anywhere, or CLAWSCHED_JSON=1."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get(JSON_META):
        return True
    return os.environ.get(JSON_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class _NumbersAreArguments(_OptionParser):
    """Click's parser, except that ``-100200000000`` (a Telegram group's chat id) is an argument, not an
    unknown option ``-1``; option values were already taken as they are."""

    def _process_opts(self, arg: str, state: _ParsingState) -> None:
        if NEGATIVE_NUMBER.match(arg):
            state.largs.append(arg)
            return
        super()._process_opts(arg, state)


class ClawCommand(click.Command):
    def make_parser(self, ctx: click.Context) -> _OptionParser:
        parser = _NumbersAreArguments(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser


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
    kwargs.setdefault("cls", ClawCommand)

    def wrap(fn: Callable[..., Any]) -> click.Command:
        @functools.wraps(fn)
        def run(*args: Any, as_json: bool = False, **kw: Any) -> Any:
            from clawsched.cli.failures import as_domain_error
            from clawsched.sched.errors import ClawschedError

            as_json = as_json or json_wanted()
            try:
                with _collector_paused(short_lived):
                    return fn(*args, as_json=as_json, **kw)
            except ClawschedError as exc:
                fail(exc, as_json)
            except (click.exceptions.Exit, click.Abort, click.ClickException, KeyboardInterrupt):
                raise
            except Exception as exc:  # never a traceback: one line naming the problem (CLAWSCHED_DEBUG=1 shows it)
                if os.environ.get("CLAWSCHED_DEBUG"):
                    raise
                fail(as_domain_error(exc), as_json)

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
    """A JSON object given inline, as ``@file.json`` or as ``-`` for stdin; a SpecError names ``what``
    and the file, whatever is wrong with either (missing, a directory, unreadable, not UTF-8, not JSON)."""
    import json

    from clawsched.cli.failures import read_argument_file
    from clawsched.sched.errors import SpecError

    source = what
    if text == "-":
        text, source = sys.stdin.read(), f"{what} from stdin"
    elif text.startswith("@"):
        text, source = read_argument_file(text[1:], what), f"{what} in {text[1:]}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                        "pass a JSON object inline, as @file.json or - for stdin", field=_field(what)) from None
    except RecursionError:  # json's decoder recurses once per level: 100 000 nested arrays exhaust the stack
        raise SpecError(f"{source} is nested too deeply for a {what} (its arrays and objects go past "
                        f"{sys.getrecursionlimit()} levels); flatten it", field=_field(what)) from None
    if not isinstance(data, dict):
        raise SpecError(f"{source} must be a JSON object {{...}}, got {type(data).__name__}", field=_field(what))
    return data


def _field(what: str) -> str:
    return what.replace(" ", "_")
