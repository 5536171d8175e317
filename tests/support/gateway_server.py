"""The HTTP side of the stand-in gateway: read each request, record it, write the stub's answer.

Every request is recorded before it is answered, and a bug in the stub becomes a 500 listed in
``stub.errors`` instead of a hung test.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.support.gateway_contract import DROP, RecordedRequest

if TYPE_CHECKING:
    from tests.support.gateway_stub import GatewayStub


def handler_for(stub: GatewayStub) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to one stub (``ThreadingHTTPServer`` builds a handler per request)."""
    class Handler(_Handler):
        pass

    Handler.stub = stub
    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub: GatewayStub

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: the recorded requests are the log."""

    def _serve(self, method: str) -> None:
        request = self._read(method)
        self.stub.record(request)
        try:
            answer = self.stub.respond(request)
            if answer is DROP:  # the gateway died mid-answer: the client sees the connection close
                self.close_connection = True
                return
            status, body, headers = answer
        except Exception as exc:  # a bug in the stub must show up in the test, not hang it
            self.stub.errors.append(f"{method} {request.path}: {exc!r}")
            status, body, headers = 500, {"error": {"message": repr(exc), "type": "stub_error"}}, {}
        self._write(status, body, headers, include_body=method != "HEAD")

    def _read(self, method: str) -> RecordedRequest:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        return RecordedRequest(method, parts.path, parts.query, headers, body, time.time(), raw)

    def _write(self, status: int, body: Any, headers: dict[str, str], *, include_body: bool) -> None:
        is_text = isinstance(body, str)
        payload = (body if is_text else json.dumps(body)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8" if is_text else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if include_body:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); the real gateway cancels the run then
