"""An OpenAI-compatible model provider for the real gateway, steered by markers in the prompt.

Run as ``python stub_model.py PORT LOG``. Every request is one JSON line in LOG: the path, the headers, the
whole body, and what the stub made of it (``text``: the turn's own user text, ``session``: the session key
the gateway wrote into the prompt's ``Runtime:`` line, ``heartbeat``, ``reply``, ``status``).

Markers, looked for in every user message of the request (so a gateway re-prompt sees them too):

* ``STUB_NO_REPLY`` -- answer exactly ``NO_REPLY`` (a model that stays silent);
* ``STUB_SILENT`` -- a model with nothing to report that does as the prompt says: ``HEARTBEAT_OK`` when
  the prompt asks for it as the silent reply, else ``NO_REPLY``;
* ``STUB_SAY[[text]]`` -- answer ``text`` verbatim;
* ``STUB_SLEEP:N`` -- wait N seconds before answering;
* ``STUB_FAIL`` -- answer HTTP 500.

Without a marker the answer is ``STUB-REPLY #<n>: <the turn's text>`` (n counts answers), so two turns of
one session have different replies; a heartbeat turn without a marker is answered ``HEARTBEAT_OK``.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INTERNAL = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT"
SAY = re.compile(r"STUB_SAY\[\[(.*?)\]\]", re.S)
SLEEP = re.compile(r"STUB_SLEEP:(\d+)")
SESSION = re.compile(r"Runtime: [^\n]*?session=(\S+)")
ANSWERS = itertools.count(1)
LOCK = threading.Lock()


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def user_texts(messages: list[dict[str, Any]]) -> list[str]:
    """The user messages the gateway relays, without its own internal-context blocks."""
    texts = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    return [t for t in texts if not t.lstrip().startswith(INTERNAL)]


def turn_text(texts: list[str]) -> str:
    """The last user text without the gateway's ``[timestamp]`` prefix and ``Runtime:`` trailer."""
    if not texts:
        return ""
    return re.sub(r"^\[[^\]]*\]\s*", "", texts[-1]).split("\n\nRuntime:")[0].strip()


def answer(texts: list[str]) -> tuple[int, str, float]:
    """(HTTP status, reply text, seconds to wait first) for a request whose user texts are ``texts``."""
    everything = "\n".join(texts)
    wait = float(m.group(1)) if (m := SLEEP.search(everything)) else 0.0
    if "STUB_FAIL" in everything:
        return 500, "", wait
    if "STUB_NO_REPLY" in everything:
        return 200, "NO_REPLY", wait
    if "STUB_SILENT" in everything:
        return 200, "HEARTBEAT_OK" if "reply exactly HEARTBEAT_OK" in everything else "NO_REPLY", wait
    if said := SAY.findall(everything):
        return 200, said[-1], wait
    turn = turn_text(texts)
    if "heartbeat" in turn.lower():
        return 200, "HEARTBEAT_OK", wait
    with LOCK:
        n = next(ANSWERS)
    return 200, f"STUB-REPLY #{n}: {turn[-200:]}", wait


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = "model.jsonl"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _record(self, entry: dict[str, Any]) -> None:
        with LOCK, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"ts": time.time(), "method": self.command, "path": self.path,
                                "headers": dict(self.headers), **entry}) + "\n")

    def _json(self, code: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record({})
        if self.path.rstrip("/").endswith("/models"):
            return self._json(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
        return self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(size) if size else b"{}"
        body: dict[str, Any] = json.loads(raw or b"{}")
        messages = body.get("messages") or []
        texts = user_texts(messages)
        status, reply, wait = answer(texts)
        sessions = [m.group(1) for t in texts if (m := SESSION.search(t))]
        turn = turn_text(texts)
        self._record({"body": body, "text": turn, "session": sessions[-1] if sessions else None,
                      "heartbeat": "heartbeat" in turn.lower(), "reply": reply, "status": status})
        if wait:
            time.sleep(wait)  # the model is slow on purpose: STUB_SLEEP
        if status != 200:
            return self._json(status, {"error": {"message": "stub forced failure", "type": "server_error"}})
        if body.get("stream"):
            return self._stream(body, reply)
        return self._json(200, {"id": "chatcmpl-" + uuid.uuid4().hex[:12], "object": "chat.completion",
                                "created": int(time.time()), "model": body.get("model", "stub-model"),
                                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                             "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

    def _stream(self, body: dict[str, Any], reply: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:12], "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", "stub-model")}
        chunks: list[dict[str, Any]] = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {"content": reply}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [],
                           "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
        try:
            for chunk in chunks:
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway went away mid-answer (a SIGKILL test)
        self.close_connection = True


def main() -> None:
    Handler.log_path = sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main()
