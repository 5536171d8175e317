"""A real HTTP server on 127.0.0.1 that stands in for the OpenClaw gateway in tests.

It answers with the request and response shapes observed against a real gateway (2026.9.6; see
``/work/shared/research/openclaw-gateway-contract.md``) — auth errors, reserved session namespaces, the
``message`` tool's ok body, the hooks' separate token — so a client that passes here speaks the real
protocol. Where the real gateway surprised a client it does so here too: a chat turn must end visible
(``NO_REPLY`` is re-prompted once, then answered 500), session keys are folded to lower case and not
echoed in a header, a send to a channel that is down answers ``tool_error`` yet is delivered later
from the outbound queue, and a gateway killed mid-turn closes the connection unanswered. It is
deliberately independent of ``clawsched.workers.gateway``: sharing the client's tables
would make the tests agree with the client by construction.

Behaviour is programmable from the test thread at any time (``stub.ready = False``, ``stub.reply = ...``,
``stub.delay_s``, ``stub.fail_next(n)``, ``stub.drop_chats``, ``stub.channels.down``), and every
request is recorded so tests can wait on what the gateway was sent instead of sleeping. The wire shapes
live in ``gateway_contract``, the HTTP plumbing in ``gateway_server``; this module holds the
programmable state and the routes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http.server import ThreadingHTTPServer
from typing import Any

from tests.support.gateway_channels import Channels
from tests.support.gateway_contract import (
    CONTINUATION,
    DENIED_TOOLS,
    DROP,
    INTERNAL_ERROR,
    UNAUTHORIZED,
    UPSTREAM_ERROR,
    RecordedRequest,
    ReplyFn,
    Response,
    ToolFailure,
    ToolHandler,
    agent_for,
    completion,
    invalid,
    is_reserved,
    is_silent,
    last_user_text,
    session_of,
)
from tests.support.gateway_server import handler_for
from tests.support.gateway_sessions import SessionActivity

__all__ = ["GatewayStub", "RecordedRequest", "ToolFailure"]


class GatewayStub:
    """The stand-in gateway. Use as a context manager, or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        token: str | None = "test-gateway-token",
        hooks_token: str | None = "test-hooks-token",
        agents: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.hooks_token = hooks_token
        self.agents = set(agents) if agents is not None else None  # None: every agent id exists
        self.ready = True
        self.has_readyz = True
        self.failing: list[str] = ["stub"]
        self.reply: str | None = None
        self.reply_fn: ReplyFn | None = None
        self.usage: dict[str, int] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        self.delay_s = 0.0
        self.sessions = SessionActivity()  # what sessions_list reports
        self.allow_request_session_key = False
        self.tool_handlers: dict[str, ToolHandler] = self._builtin_tools()
        self.channels = Channels()
        self.sent_messages = self.channels.sent  # what the chats received, in order
        self.wakes: list[dict[str, Any]] = []
        self.hook_runs: list[dict[str, Any]] = []
        self.webhook_posts: list[RecordedRequest] = []  # answered 2xx by ``/webhook/*``
        self.tool_errors: list[str] = []
        self.errors: list[str] = []
        self._turn_state()
        self._requests: list[RecordedRequest] = []
        self._changed = threading.Condition()
        self._failures = {"chat": (0, 502), "tools": (0, 502), "hooks": (0, 503), "webhook": (0, 500)}
        self._idempotent_hooks: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._started = time.monotonic()
        self._server = ThreadingHTTPServer((host, port), handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def _turn_state(self) -> None:
        self.turns: list[dict[str, Any]] = []  # finished chat turns: session (as the gateway keys it), reply
        self.continuations: list[RecordedRequest] = []  # turns the stub re-prompted after a silent answer
        self.drop_chats = 0  # the next N chat turns end with the connection closed and no answer
        self.interrupted_turns: list[RecordedRequest] = []

    # ------------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """The environment a clawsched process needs to talk to this stub (for subprocess tests)."""
        env = {"OPENCLAW_GATEWAY_URL": self.url}
        if self.token:
            env["OPENCLAW_GATEWAY_TOKEN"] = self.token
        if self.hooks_token:
            env["OPENCLAW_HOOKS_TOKEN"] = self.hooks_token
        return env

    def start(self) -> GatewayStub:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gateway-stub", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> GatewayStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------- what was sent

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def clear(self) -> None:
        with self._changed:
            self._requests.clear()
            self.sent_messages.clear()
            self.wakes.clear()
            self.hook_runs.clear()
            self.webhook_posts.clear()
            self.tool_errors.clear()

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until ``predicate(requests)`` holds; raise ``TimeoutError`` naming what did arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{r.method} {r.path}" for r in self._requests]
                    raise TimeoutError(f"gateway stub: condition not met within {timeout} s; saw {seen}")
                self._changed.wait(remaining)
            return list(self._requests)

    def record(self, request: RecordedRequest) -> None:
        """Called by the HTTP handler for every request, before it is answered; wakes ``wait_for``."""
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    # ------------------------------------------------------------------------------------------ behaviour

    def fail_next(self, n: int = 1, status: int = 502) -> None:
        """The next ``n`` chat turns fail as a provider outage does (``api_error``)."""
        self._set_failures("chat", n, status)

    def fail_tools_next(self, n: int = 1, status: int = 502) -> None:
        self._set_failures("tools", n, status)

    def fail_hooks_next(self, n: int = 1, status: int = 503) -> None:
        self._set_failures("hooks", n, status)

    def fail_webhooks_next(self, n: int = 1, status: int = 500) -> None:
        """The next ``n`` posts to ``/webhook/*`` (a test receiver, not a gateway route) fail."""
        self._set_failures("webhook", n, status)

    def _set_failures(self, kind: str, n: int, status: int) -> None:
        with self._lock:
            self._failures[kind] = (n, status)

    def _take_failure(self, kind: str) -> int | None:
        with self._lock:
            n, status = self._failures[kind]
            if n <= 0:
                return None
            self._failures[kind] = (n - 1, status)
            return status

    # ---------------------------------------------------------------------------------------------- routes

    def respond(self, req: RecordedRequest) -> Response:
        """Route one recorded request to its answer: (status, JSON body or text, extra headers)."""
        path = req.path
        if path in ("/health", "/healthz"):
            return 200, {"ok": True, "status": "live"}, {}
        if path == "/startupz":
            return 200, {"ok": True, "status": "started", "version": "stub", "uptimeMs": self._uptime_ms()}, {}
        if path in ("/readyz", "/ready"):
            return self._readiness()
        if path.startswith("/hooks/") and req.method == "POST":
            return self._hooks(req)
        if path.startswith("/webhook/") and req.method == "POST":
            return self._webhook(req)
        routes: dict[tuple[str, str], Callable[[RecordedRequest], Response]] = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/tools/invoke"): self._tools,
            ("GET", "/v1/models"): self._models,
        }
        route = routes.get((req.method, path))
        if route is None:
            return 404, "Not Found", {}
        if self.token and req.bearer != self.token:
            return 401, UNAUTHORIZED, {}
        return route(req)

    def _uptime_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def _readiness(self) -> Response:
        if not self.has_readyz:
            return 404, "Not Found", {}
        if self.ready:
            return 200, {"ready": True, "failing": [], "uptimeMs": self._uptime_ms()}, {}
        return 503, {"ready": False, "failing": list(self.failing), "uptimeMs": self._uptime_ms()}, {}

    def _models(self, req: RecordedRequest) -> Response:
        ids = ["openclaw", "openclaw/default", *(f"openclaw/{a}" for a in sorted(self.agents or {"main"}))]
        return 200, {"object": "list", "data": [{"id": i, "object": "model", "owned_by": "openclaw"} for i in ids]}, {}

    def _chat(self, req: RecordedRequest) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        key = req.headers.get("x-openclaw-session-key")
        if key and is_reserved(key):
            return invalid("`x-openclaw-session-key` cannot use reserved internal session namespaces.")
        agent, problem = agent_for(body.get("model"), req.headers.get("x-openclaw-agent-id"), self.agents)
        if problem:
            return invalid(problem)
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return invalid("Missing `messages`.")
        if body.get("stream"):
            return invalid("the gateway stub does not stream; send stream:false")
        session = session_of(agent, key) if key else f"agent:{agent}:openai:{uuid.uuid4()}"
        self.sessions.touch(session)  # the turn started; a model that hangs (delay_s) shows no more activity
        if self.delay_s > 0:
            self._stopping.wait(self.delay_s)
        status = self._take_failure("chat")
        if status is not None:
            return status, UPSTREAM_ERROR, {}
        if self.drop_chats > 0:  # killed mid-turn: no answer; the restarted gateway resumes the turn itself
            self.drop_chats -= 1
            self.interrupted_turns.append(req)
            return DROP
        text = self._reply_text(body, req.headers)
        if is_silent(text):  # a chat turn owes a visible answer: ask once more, then fail
            again = {**body, "messages": [*body["messages"], {"role": "user", "content": CONTINUATION}]}
            text = self._reply_text(again, req.headers)
            self.continuations.append(req)
            if is_silent(text):
                return 500, INTERNAL_ERROR, {}
        self.sessions.touch(session)
        self.turns.append({"session": session, "agent": agent, "prompt": last_user_text(body["messages"]),
                           "reply": text, "model_header": req.headers.get("x-openclaw-model")})
        return 200, completion(agent, text, self.usage), {}  # the gateway sends no session-key header

    def _reply_text(self, body: dict[str, Any], headers: dict[str, str]) -> str:
        if self.reply_fn is not None:
            return self.reply_fn(body, headers)
        if self.reply is not None:
            return self.reply
        text = body.get("message") or last_user_text(body.get("messages"))
        return f"STUB-REPLY: {text}"

    # ------------------------------------------------------------------------------------------------ tools

    def _tools(self, req: RecordedRequest) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        tool = body.get("tool") or body.get("name")
        if not isinstance(tool, str) or not tool:
            return 400, {"ok": False, "error": {"type": "invalid_request", "message": "tool is required"}}, {}
        status = self._take_failure("tools")
        if status is not None:
            return status, {"ok": False, "error": {"type": "api_error", "message": "upstream error"}}, {}
        handler = self.tool_handlers.get(tool)
        if tool in DENIED_TOOLS or handler is None:
            return 404, {"ok": False, "error": {"type": "not_found", "message": f"Tool not available: {tool}"}}, {}
        args = dict(body.get("args") or {})
        if body.get("action") and "action" not in args:
            args["action"] = body["action"]
        try:
            result = handler(args)
        except ToolFailure as exc:
            self.tool_errors.append(f"{tool}: {exc}")
            return 500, {"ok": False, "error": {"type": "tool_error", "message": "tool execution failed"}}, {}
        return 200, {"ok": True, "result": result}, {}

    def _builtin_tools(self) -> dict[str, ToolHandler]:
        """The tools a fresh stub answers; a test adds or replaces entries in ``tool_handlers``."""
        return {
            "message": self._message_tool,
            "sessions_list": self.sessions.listed,
        }

    def _message_tool(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.channels.send(args)

    def _webhook(self, req: RecordedRequest) -> Response:
        """A receiver for clawsched's outgoing webhooks (not part of the gateway), so tests need one server."""
        status = self._take_failure("webhook")
        if status is not None:
            return status, {"ok": False}, {}
        self.webhook_posts.append(req)
        return 200, {"ok": True}, {}

    # ------------------------------------------------------------------------------------------------ hooks

    def _hooks(self, req: RecordedRequest) -> Response:
        """``/hooks/*`` take only the hooks token; the gateway token gets a plain-text 401."""
        if not self.hooks_token:
            return 404, "Not Found", {}
        if self.hooks_token not in (req.bearer, req.headers.get("x-openclaw-token")):
            return 401, "Unauthorized", {}
        status = self._take_failure("hooks")
        if status is not None:
            return status, {"ok": False, "error": "no admission within 15s"}, {}
        body = req.body if isinstance(req.body, dict) else {}
        if req.path == "/hooks/wake":
            return self._hook_wake(body)
        if req.path == "/hooks/agent":
            return self._hook_agent(body, req.headers)
        return 404, "Not Found", {}

    def _hook_wake(self, body: dict[str, Any]) -> Response:
        text, mode = body.get("text"), body.get("mode", "now")
        if not isinstance(text, str) or not text.strip():
            return 400, {"ok": False, "error": "text required"}, {}
        if mode not in ("now", "next-heartbeat"):
            return 400, {"ok": False, "error": "mode must be now or next-heartbeat"}, {}
        if body.get("sessionKey") and not (self.allow_request_session_key and mode == "now"):
            return 400, {"ok": False, "error": "sessionKey is not allowed for this hook"}, {}
        self.wakes.append(body)
        return 200, {"ok": True, "mode": mode, "eventOutcome": "queued"}, {}

    def _hook_agent(self, body: dict[str, Any], headers: dict[str, str]) -> Response:
        if not isinstance(body.get("message"), str) or not body["message"]:
            return 400, {"ok": False, "error": "message required"}, {}
        if bool(body.get("channel")) != bool(body.get("to")) or body.get("channel") == "last":
            return 400, {"ok": False, "error": "channel and to must be set together for hook delivery"}, {}
        key = body.get("idempotencyKey") or headers.get("idempotency-key") or headers.get("x-openclaw-idempotency-key")
        with self._lock:
            if key and key in self._idempotent_hooks:
                return 200, self._idempotent_hooks[key], {}
        answer = self._run_hook_agent(body, headers)
        if key:
            with self._lock:
                answer = self._idempotent_hooks.setdefault(key, answer)
        return 200, answer, {}

    def _run_hook_agent(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        run_id = str(uuid.uuid4())
        reply = self._reply_text(body, headers)
        deliver = bool(body.get("deliver", True) and body.get("channel"))
        if deliver:
            self.sent_messages.append(
                {"channel": body["channel"], "target": body["to"], "message": reply,
                 "message_id": self.channels.next_id(), "args": {}, "via": "hooks/agent"}
            )
        self.hook_runs.append({**body, "runId": run_id, "reply": reply})
        if not body.get("waitForCompletion"):
            return {"ok": True, "runId": run_id}
        completion = {"status": "ok", "replyDisposition": "visible", "delivered": deliver, "deliveryAttempted": deliver}
        return {"ok": True, "runId": run_id, "completion": completion}

