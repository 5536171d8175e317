"""``clawsched flower``: Flower, Celery's dashboard, watching this clawsched, behind a login.

Flower runs in this process on the Celery app that ``workers.app.create_app`` builds from the settings, so
it reads the same Redis, queue and key prefix as the workers. It binds 127.0.0.1 unless told otherwise,
and every page and API route asks for HTTP basic auth: user ``clawsched`` (``--user``), password
``CLAWSCHED_FLOWER_PASSWORD`` if set, else the API token (``CLAWSCHED_API_TOKEN``, else the one in
``CLAWSCHED_HOME/api-token``). The credentials go to Flower's options in this process, never on a command
line (where ``ps`` shows them) nor in output: the command prints where the password is, not what it is.
Flower's own ``/metrics`` and ``/healthcheck`` need no login (that is Flower's rule, for scrapers).

What Flower shows of clawsched: each run is a ``clawsched.run`` task whose args are ``['<run id>'] <job
name>``; one that ended error, timeout, crashed or unconfirmed is FAILURE with its exit code;
maintenance sends no task events. See docs/flower.md.
"""

from __future__ import annotations

import os
from typing import Any

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext

PASSWORD_ENV = "CLAWSCHED_FLOWER_PASSWORD"


@command(None, "flower", context_settings={"ignore_unknown_options": True})
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5555, show_default=True, type=click.IntRange(1, 65_535), help="Port to listen on.")
@click.option("--user", default="clawsched", show_default=True, help="Login name for the basic auth.")
@click.option("--no-auth", is_flag=True,
              help="No login (only behind a proxy that authenticates; Flower's API then stays refused "
                   "unless FLOWER_UNAUTHENTICATED_API=true).")
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(obj: CliContext, as_json: bool, address: str, port: int, user: str, no_auth: bool,
           flower_args: tuple[str, ...]) -> None:
    """Run Flower on this clawsched's broker, with a login (extra arguments go to Flower, e.g. --max_tasks=50000)."""
    from clawsched.workers.app import create_app

    credentials, where = (None, "") if no_auth else _credentials(obj, user)
    app = create_app(obj.settings)
    _set_basic_auth(credentials)
    url = f"http://{address}:{port}/"
    if credentials is None:
        click.echo(f"Flower on {url} WITHOUT a login (--no-auth)", err=True)
    else:
        click.echo(f"Flower on {url}: log in as {user!r} with the password from {where}", err=True)
    app.start(["flower", f"--address={address}", f"--port={port}", *flower_args])


def _credentials(obj: CliContext, user: str) -> tuple[str, str]:
    """``user:password`` for Flower, and where the password comes from (said to the user instead of it)."""
    from clawsched.api.auth import resolve_token, token_path

    if ":" in user or not user:
        raise click.BadParameter("a login name, without ':'", param_hint="--user")
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return f"{user}:{password}", PASSWORD_ENV
    token = resolve_token(obj.settings)
    where = "CLAWSCHED_API_TOKEN" if obj.settings.api_token else f"{token_path(obj.settings)} (the API token)"
    return f"{user}:{token}", where


def _set_basic_auth(credentials: str | None) -> None:
    """Hand the credentials to Flower's ``basic_auth`` option directly: ``FLOWER_BASIC_AUTH`` and
    ``--basic_auth`` split on commas, and the flag would show the password to ``ps``."""
    from flower import options as _defined  # noqa: F401  (defines Flower's options)
    from tornado.options import options

    opts: Any = options
    opts.basic_auth = [credentials] if credentials is not None else []
