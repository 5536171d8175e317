"""``clawsched api``: the HTTP control plane (FastAPI on uvicorn)."""

from __future__ import annotations

import logging

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext, ensure_schema


@command(None, "api")
@click.option("--host", help="Address to listen on (default CLAWSCHED_API_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65_535), help="Port (default CLAWSCHED_API_PORT or 8765).")
def api(obj: CliContext, as_json: bool, host: str | None, port: int | None) -> None:
    """Serve the HTTP API: REST resources, /v1/tools/invoke, /health, /readyz, /metrics.

    Every route but the probes needs `Authorization: Bearer <token>`: CLAWSCHED_API_TOKEN, or the token
    written (mode 0600) to CLAWSCHED_HOME/api-token on first start.
    """
    import uvicorn

    from clawsched.api.app import create_app
    from clawsched.api.auth import token_path

    logging.basicConfig(level=obj.settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_schema(obj.store)
    app = create_app(obj.settings)
    where = f"{host or obj.settings.api_host}:{port or obj.settings.api_port}"
    source = "CLAWSCHED_API_TOKEN" if obj.settings.api_token else str(token_path(obj.settings))
    click.echo(f"clawsched api on http://{where} (token: {source})", err=True)
    uvicorn.run(app, host=host or obj.settings.api_host, port=port or obj.settings.api_port,
                log_level=obj.settings.log_level.lower(), access_log=False)
