"""Bearer-token authentication, on by default for every route but the probes.

The token is ``CLAWSCHED_API_TOKEN``, else the one in ``CLAWSCHED_HOME/api-token``, generated (mode 0600)
on first start. It is compared in constant time, and a missing token and a wrong one get the same 401.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clawsched.sched.errors import ClawschedError
from clawsched.sched.settings import Settings

TOKEN_FILE = "api-token"


class Unauthorized(ClawschedError):
    http_status = 401
    exit_code = 7


def token_path(settings: Settings) -> Path:
    return settings.home / TOKEN_FILE


def resolve_token(settings: Settings, *, create: bool = True) -> str | None:
    """The API token: the configured one, else the home's token file (written 0600 when missing)."""
    if settings.api_token:
        return settings.api_token
    path = token_path(settings)
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>` (CLAWSCHED_API_TOKEN, or "
                                                    "the token in CLAWSCHED_HOME/api-token)")


async def require_token(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """FastAPI dependency: the request carries the API token (header, or the dashboard's cookie). Taking the
    credentials through ``Depends(_bearer)`` puts the bearer scheme in the OpenAPI document."""
    expected: str = request.app.state.api_token
    given = credentials.credentials if credentials is not None else request.cookies.get("clawsched_token", "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("a valid API token is required: send `Authorization: Bearer <token>`")
