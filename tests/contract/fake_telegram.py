"""A fake Telegram Bot API for the real gateway's Telegram channel (``channels.telegram.apiRoot``).

Run as ``python fake_telegram.py PORT LOG MODE_FILE``. Every call is one JSON line in LOG: the Bot API
method, its parameters (query, JSON or form body), and the HTTP status answered. MODE_FILE is read on
every call: ``down`` makes the sending methods (``sendMessage``, ``editMessageText``, ...) answer 500 while
polling (``getUpdates``, ``getMe``) keeps working, so the channel stays up but cannot deliver; anything
else (or no file) is normal service.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

MESSAGE_IDS = itertools.count(1000)
LOCK = threading.Lock()
SENDING = {"sendmessage", "editmessagetext", "sendphoto", "senddocument", "sendchataction"}
BOT = {"id": 123, "is_bot": True, "first_name": "StubBot", "username": "stub_bot"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = "telegram.jsonl"
    mode_path = "telegram.mode"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _params(self) -> dict[str, Any]:
        url = urlparse(self.path)
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
        size = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(size) if size else b""
        kind = self.headers.get("Content-Type", "")
        if raw and "json" in kind:
            params.update(json.loads(raw))
        elif raw and "x-www-form-urlencoded" in kind:
            params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        elif raw:
            params["_raw"] = raw[:4000].decode("utf-8", "replace")
        return params

    def _down(self) -> bool:
        path = Path(self.mode_path)
        return path.exists() and path.read_text().strip() == "down"

    def _reply(self, method: str, params: dict[str, Any], code: int, obj: dict[str, Any]) -> None:
        with LOCK, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"ts": time.time(), "method": method, "params": params, "status": code}) + "\n")
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        method = urlparse(self.path).path.strip("/").split("/")[-1]
        params = self._params()
        m = method.lower()
        if m in SENDING and self._down():
            return self._reply(method, params, 500, {"ok": False, "error_code": 500,
                                                     "description": "Internal Server Error"})
        if m == "getme":
            return self._reply(method, params, 200, {"ok": True, "result": {
                **BOT, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}})
        if m == "getupdates":
            time.sleep(min(float(params.get("timeout") or 0), 1.0))  # a long poll, shortened
            return self._reply(method, params, 200, {"ok": True, "result": []})
        if m in ("sendmessage", "editmessagetext"):
            return self._reply(method, params, 200, {"ok": True, "result": self._message(params)})
        if m == "getchat":
            return self._reply(method, params, 200, {"ok": True, "result": {"id": params.get("chat_id"),
                                                                            "type": "private"}})
        if m == "getmycommands":
            return self._reply(method, params, 200, {"ok": True, "result": []})
        if m == "getwebhookinfo":
            return self._reply(method, params, 200, {"ok": True, "result": {
                "url": "", "has_custom_certificate": False, "pending_update_count": 0}})
        return self._reply(method, params, 200, {"ok": True, "result": True})

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id: Any = params.get("chat_id")
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            pass
        private = isinstance(chat_id, int) and chat_id > 0
        result: dict[str, Any] = {"message_id": next(MESSAGE_IDS), "date": int(time.time()), "from": BOT,
                                  "chat": {"id": chat_id, "type": "private" if private else "supergroup"},
                                  "text": params.get("text", "")}
        if params.get("message_thread_id") is not None:  # the gateway insists the topic is echoed
            result["message_thread_id"] = int(params["message_thread_id"])
            result["is_topic_message"] = True
            result["chat"]["is_forum"] = True
        return result

    do_GET = _handle
    do_POST = _handle


def main() -> None:
    Handler.log_path, Handler.mode_path = sys.argv[2], sys.argv[3]
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main()
