"""Who may see the dashboard: the holder of the API token. The login form sets it as an HttpOnly,
SameSite=Strict cookie (the API's ``require_token`` accepts that cookie too), so no script can read it and
no other site's page can send it. Every form also carries a token derived from the API token, checked on
each POST, so a forged form fails even where a browser ignores SameSite."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from clawsched.sched.errors import ClawschedError

COOKIE = "clawsched_token"  # the name api.auth.require_token reads
_CSRF_CONTEXT = b"clawsched dashboard form"


class LoginRequired(ClawschedError):
    """A page asked for without a valid token: answered with a redirect to the login form."""

    http_status = 303


class BadForm(ClawschedError):
    """A POST without the form token of this dashboard (a forged or stale form)."""

    http_status = 403


def _expected(request: Request) -> str:
    token: str = request.app.state.api_token
    return token


def valid(request: Request, given: str) -> bool:
    """True when ``given`` is the API token; compared in constant time."""
    return bool(given) and hmac.compare_digest(given.encode(), _expected(request).encode())


def signed_in(request: Request) -> None:
    """Page dependency: the request carries the token cookie, else the browser goes to the login form."""
    if not valid(request, request.cookies.get(COOKIE, "")):
        raise LoginRequired("sign in with the API token")


def form_token(request: Request) -> str:
    """The token every dashboard form carries: an HMAC of the API token, useless anywhere else."""
    return hmac.new(_expected(request).encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def check_form(request: Request, given: str) -> None:
    if not hmac.compare_digest(given.encode(), form_token(request).encode()):
        raise BadForm("this form is not from this dashboard (or it is stale): reload the page and try again")
