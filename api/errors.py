"""One mapping from clawsched's errors to HTTP answers: ``{ok: false, error: {code, message, field}}``.

A ``ClawschedError`` carries its own status (``http_status``); anything else is a 500 whose body says
only that it was an internal error, never the exception or its stack.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clawsched.sched.errors import ClawschedError

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "invalid", 502: "gateway_error", 503: "unavailable"}


def body(status: int, message: str, field: str | None = None, code: str | None = None,
         **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code or CODES.get(status, "error"), "message": message, "field": field,
                                   **extra}}


def answer(status: int, message: str, field: str | None = None, code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body(status, message, field, code), status_code=status, headers=headers)


async def _clawsched(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClawschedError)
    return answer(exc.http_status, str(exc), getattr(exc, "field", None), type(exc).__name__)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
    return answer(422, f"{where or 'request'}: {first.get('msg', 'invalid')}", where)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return answer(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return answer(500, "internal error; the server log has the details", code="internal")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClawschedError, _clawsched)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
