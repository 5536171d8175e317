"""The one place that speaks HTTP to the OpenClaw gateway.

Everything here follows the gateway's observed contract (``/work/shared/research/openclaw-gateway-contract.md``),
not the peer scheduler's habits where the two differ:

* the agent is chosen by the OpenAI ``model`` field (``openclaw/<agentId>``); a provider model such as
  ``anthropic/claude-x`` is a backend override and travels in ``x-openclaw-model``, because the gateway
  answers ``400 Invalid `model``` when it is put in the ``model`` field;
* ``x-openclaw-session-key`` is a bare key (``clawsched:<job>:<run>``): the gateway itself scopes it to
  ``agent:<agentId>:<key>``, and it rejects the reserved ``cron:``/``subagent:``/``acp:`` namespaces;
* ``/hooks/*`` take the dedicated hooks token, never the gateway token;
* probes (``/readyz``, ``/health``) are unauthenticated, so the token is not sent there.

Failures become ``GatewayError`` (the caller's or the gateway's configuration is wrong: retrying will not
help) or ``TransientGatewayError`` (the network or an upstream provider failed: retrying may help). Tool
and hook calls are retried here, at the edge; an agent turn is never retried here because a turn costs
tokens and may have side effects, so the job's own retry policy decides and records a new run.

The pieces it uses live beside it: ``sessions`` (session keys), ``replies`` (successful answers),
``errors`` (failed answers as the error tree) and ``chunking`` (message length limits per channel).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from clawsched.sched.errors import GatewayError, SpecError, TransientGatewayError
from clawsched.sched.rules import session_keys
from clawsched.sched.settings import Settings
from clawsched.workers.gateway import rendering
from clawsched.workers.gateway.chunking import channel_limit, split_message
from clawsched.workers.gateway.errors import (
    GatewayDisconnectedError,
    GatewayTimeoutError,
    UnconfirmedError,
    error_for,
)
from clawsched.workers.gateway.replies import ChatReply, chat_reply, json_or_empty, ok_body
from clawsched.workers.gateway.sessions import check_session_key, new_session_key, stable_session_key

__all__ = [
    "ChatReply",
    "GatewayClient",
    "GatewayTimeoutError",
    "UnconfirmedError",
    "check_session_key",
    "client_for",
    "new_session_key",
    "stable_session_key",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: An agent turn: the gateway retries a failing provider for ~60-76 s before it answers 502, and real
#: models are slower still, so the default is well above the contract's 120 s floor.
CHAT_TIMEOUT_DEFAULT_S = 300.0
TOOLS_TIMEOUT_S = 15.0
HOOKS_TIMEOUT_S = 15.0
PROBE_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 5.0

WAKE_MODES = ("now", "next-heartbeat")


WakeMode = Literal["now", "next-heartbeat"]


class GatewayClient:
    """A sync client for one gateway; safe to share between threads, built lazily so it survives fork."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        hooks_token: str | None = None,
        hooks_path: str = "/hooks",
        ready_ttl_s: float = 2.0,
        retry_attempts: int = 3,
        retry_wait_s: float = 0.25,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._hooks_token = hooks_token
        self.hooks_path = "/" + hooks_path.strip("/")
        self.ready_ttl_s = ready_ttl_s
        self.retry_attempts = max(1, retry_attempts)
        self.retry_wait_s = retry_wait_s
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()
        self._ready_lock = threading.Lock()
        self._ready_cache: tuple[float, bool] | None = None
        self._probe_path = "/readyz"

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> GatewayClient:
        return cls(
            settings.gateway_url,
            token=settings.gateway_token or _read_token(settings.gateway_token_path),
            hooks_token=settings.hooks_token,
            **options,
        )

    def __repr__(self) -> str:
        token = "set" if self._token else "none"
        hooks = "set" if self._hooks_token else "none"
        return f"GatewayClient({self.base_url!r}, token=<{token}>, hooks_token=<{hooks}>)"

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._http_lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    new_session_key = staticmethod(new_session_key)
    stable_session_key = staticmethod(stable_session_key)

    # ------------------------------------------------------------------------------------------ readiness

    def ready(self, *, force: bool = False) -> bool:
        """Whether the gateway takes work now, cached for ``ready_ttl_s`` so a burst of runs probes once.

        Concurrent callers wait for the one probe in flight instead of sending their own.
        """
        with self._ready_lock:
            cached = self._ready_cache
            if not force and cached and time.monotonic() - cached[0] < self.ready_ttl_s:
                return cached[1]
            ok = self._probe()
            self._ready_cache = (time.monotonic(), ok)
            return ok

    def _probe(self) -> bool:
        """``/readyz``, or ``/health`` on a gateway too old to have it (404, remembered)."""
        try:
            response = self._client().get(self._probe_path, timeout=PROBE_TIMEOUT_S)
            if response.status_code == 404 and self._probe_path == "/readyz":
                self._probe_path = "/health"
                response = self._client().get(self._probe_path, timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError as exc:
            log.info("gateway %s not reachable: %s", self.base_url, exc)
            return False
        if response.status_code != 200:
            log.info("gateway %s not ready: %s %s", self.base_url, response.status_code, response.text[:200])
            return False
        return self._probe_path != "/readyz" or json_or_empty(response).get("ready", True) is not False

    # ----------------------------------------------------------------------------------------- agent turns

    def chat(
        self,
        *,
        agent_id: str,
        message: str,
        session_key: str | None,
        model: str | None = None,
        timeout_s: float | None = None,
        auth_profile: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> ChatReply:
        """Run one agent turn and return its final reply. Never retried here (see the module docstring).

        ``model`` may be an agent target (``openclaw/<id>``, ``openclaw:<id>``, ``agent:<id>``) or a backend
        model such as ``provider/model``, which is sent as ``x-openclaw-model``. ``timeout_s`` is the run's
        own budget and bounds the wait; without it the wait is ``CHAT_TIMEOUT_DEFAULT_S``.
        ``session_key=None`` makes the turn stateless (the gateway picks a fresh key). ``auth_profile``
        (``provider:label``) picks the credentials the backend model is called with; see ``model_header``.
        """
        target, backend_model = _model_fields(agent_id, model)
        headers = {**(extra_headers or {}), **self._bearer(self._token), "x-openclaw-agent-id": agent_id}
        if backend_model:
            headers["x-openclaw-model"] = model_header(backend_model, auth_profile)
        if session_key:
            headers["x-openclaw-session-key"] = session_key
        body = {"model": target, "stream": False, "messages": [{"role": "user", "content": message}]}
        started = time.monotonic()
        response = self._request(
            "POST", "/v1/chat/completions", what=f"chat turn for agent {agent_id!r}", json_body=body,
            headers=headers, timeout=timeout_s or CHAT_TIMEOUT_DEFAULT_S,
        )
        duration_ms = int((time.monotonic() - started) * 1000)
        used = response.headers.get("x-openclaw-session-key") or (
            session_keys.as_gateway_keys_it(agent_id, session_key) if session_key else None)
        reply = chat_reply(json_or_empty(response), duration_ms, used)
        log.info("chat agent=%s session=%s ok in %d ms", agent_id, session_key, duration_ms)
        return reply

    # ------------------------------------------------------------------------------------- tools and hooks

    def invoke_tool(
        self,
        tool: str,
        args: Mapping[str, Any] | None = None,
        *,
        session_key: str | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Invoke one gateway tool; returns the ``{"ok": true, "result": ...}`` body.

        With ``idempotent=False`` an unconfirmed failure (``UnconfirmedError``: a timeout, a dropped
        connection, a 500) is not retried: the tool may already have run, or the gateway may have queued it.
        """
        body: dict[str, Any] = {"tool": tool, "args": dict(args or {})}
        if session_key:
            body["sessionKey"] = session_key
        what = f"tool {tool!r}"

        def call() -> dict[str, Any]:
            response = self._request(
                "POST", "/tools/invoke", what=what, json_body=body,
                headers=self._bearer(self._token), timeout=TOOLS_TIMEOUT_S,
            )
            return ok_body(response, what, self._secrets)

        return self._retrying(what, call, idempotent=idempotent)

    def send_message(self, channel: str | None, target: str, text: str, *, markdown: bool = False
                     ) -> list[dict[str, Any]]:
        """Post ``text`` to a chat through the ``message`` tool, in as many messages as the channel needs.

        ``text`` arrives as written (``rendering``): verbatim, or with its Markdown rendered when
        ``markdown`` (an agent's reply).

        Returns one tool body per chunk, in order. Empty text sends nothing. ``channel=None`` relies on a
        provider-prefixed target (``telegram:111``). Sends are not deduplicated by the gateway, so a
        chunk whose send is unconfirmed is not re-sent, and the chunks after it are not sent either.
        """
        results = []
        for chunk in split_message(text, channel_limit(channel, target)):
            args = {"action": "send", "target": target,
                    "message": rendering.as_sent(channel, target, chunk, markdown=markdown)}
            if channel:
                args["channel"] = channel
            results.append(self.invoke_tool("message", args, idempotent=False))
        return results

    def wake(
        self, text: str, mode: WakeMode = "now", *, agent_id: str | None = None, session_key: str | None = None
    ) -> dict[str, Any]:
        """Queue a system event on the main session; ``now`` runs the heartbeat at once."""
        if mode not in WAKE_MODES:
            raise SpecError(f"wake mode {mode!r} is not one of {', '.join(WAKE_MODES)}", field="mode")
        body: dict[str, Any] = {"text": text, "mode": mode}
        if agent_id:
            body["agentId"] = agent_id
        if session_key:
            body["sessionKey"] = session_key
        return self._hook("wake", body)

    def _hook(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self._hooks_token:
            raise GatewayError(
                f"gateway hook {name!r} needs the hooks token (OPENCLAW_HOOKS_TOKEN); the gateway token is "
                "rejected by /hooks/*"
            )
        what = f"hook {name!r}"

        def call() -> dict[str, Any]:
            response = self._request(
                "POST", f"{self.hooks_path}/{name}", what=what, json_body=body,
                headers=self._bearer(self._hooks_token), timeout=HOOKS_TIMEOUT_S,
            )
            return ok_body(response, what, self._secrets)

        return self._retrying(what, call, idempotent=True)

    # -------------------------------------------------------------------------------------------- plumbing

    def _client(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                self._http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(TOOLS_TIMEOUT_S))
            return self._http

    @staticmethod
    def _bearer(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json_body: Any,
        headers: Mapping[str, str],
        timeout: float,
    ) -> httpx.Response:
        """Send one request and turn every failure into the gateway error tree."""
        limits = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout))
        try:
            response = self._client().request(method, path, json=json_body, headers=dict(headers), timeout=limits)
        except httpx.ConnectTimeout as exc:
            raise TransientGatewayError(f"gateway {what}: could not connect to {self.base_url}") from exc
        except httpx.ConnectError as exc:
            raise TransientGatewayError(f"gateway {what}: {self.base_url} unreachable ({exc})") from exc
        except httpx.TimeoutException as exc:
            raise GatewayTimeoutError(f"gateway {what}: no answer within {timeout:g} s after the request "
                                      "was sent (the gateway may still be doing it)") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise GatewayDisconnectedError(f"gateway {what}: the connection dropped before the answer ({exc}); "
                                           "the gateway may have done it (it resumes interrupted turns)") from exc
        except httpx.HTTPError as exc:
            raise TransientGatewayError(f"gateway {what}: {self.base_url} unreachable ({exc})") from exc
        if response.is_success:
            return response
        raise error_for(response, what, self._secrets)

    @property
    def _secrets(self) -> tuple[str | None, str | None]:
        """What must never appear in a message, even if the gateway echoes it."""
        return self._token, self._hooks_token

    def _retrying(self, what: str, call: Callable[[], T], *, idempotent: bool) -> T:
        """Retry transient failures with short exponential backoff and one log line per failed attempt."""

        def worth_retrying(exc: BaseException) -> bool:
            if not isinstance(exc, TransientGatewayError):
                return False
            return idempotent or not isinstance(exc, UnconfirmedError)

        def log_attempt(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "gateway %s attempt %d/%d failed: %s; retrying in %.2f s",
                what, state.attempt_number, self.retry_attempts,
                state.outcome.exception() if state.outcome else "?", wait,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.retry_attempts),
            wait=wait_exponential(multiplier=self.retry_wait_s, max=self.retry_wait_s * 8),
            retry=retry_if_exception(worth_retrying),
            before_sleep=log_attempt,
            reraise=True,
        )
        return retrying(call)


def model_header(backend_model: str, auth_profile: str | None) -> str:
    """``x-openclaw-model`` for a backend model and an auth profile.

    The gateway has no auth-profile header (openclaw-scheduler's ``x-openclaw-auth-profile`` is read by
    nothing); it reads a profile as a suffix of the model reference, ``provider/model@provider:label``
    (``splitTrailingAuthProfile`` in its model-reference parser). ``inherit`` or none: the agent's own.
    """
    if not auth_profile or auth_profile == "inherit":
        return backend_model
    return f"{backend_model.split('@', 1)[0]}@{auth_profile}"


def _model_fields(agent_id: str, model: str | None) -> tuple[str, str | None]:
    """(the ``model`` field, the ``x-openclaw-model`` header): agent targets go in the field."""
    if not model:
        return f"openclaw/{agent_id}", None
    if model == "openclaw" or model.startswith(("openclaw/", "openclaw:", "agent:")):
        return model, None
    return f"openclaw/{agent_id}", model


def _read_token(path: Path | None) -> str | None:
    """The token file's contents, or None (with a log line naming the path, never the contents)."""
    if path is None:
        return None
    try:
        return path.expanduser().read_text().strip() or None
    except OSError as exc:
        log.warning("gateway token file %s unreadable (%s); calling the gateway without a token", path, exc)
        return None


_CLIENTS: dict[tuple[str, str | None, str | None, str | None], GatewayClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(settings: Settings) -> GatewayClient:
    """One shared client per gateway configuration in this process (readiness cache included)."""
    key = (settings.gateway_url, settings.gateway_token, str(settings.gateway_token_path or ""), settings.hooks_token)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = GatewayClient.from_settings(settings)
        return client
