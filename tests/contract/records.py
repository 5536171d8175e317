"""What the fakes and the relay logged, read back as the tests need it."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def displayed(params: dict[str, Any]) -> str:
    """The text a Telegram chat shows for a sendMessage: HTML entities decoded when parse_mode is HTML."""
    text = str(params.get("text", ""))
    return html.unescape(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text


def message_texts(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every message the gateway sent the model in one request."""
    out = []
    for m in (request.get("body") or {}).get("messages") or []:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        out.append((str(m.get("role")), str(content or "")))
    return out


@dataclass(frozen=True)
class Records:
    logs: Path

    def model(self, token: str) -> list[dict[str, Any]]:
        """Chat requests the stub model got whose user messages mention ``token``."""
        found = []
        for r in read_jsonl(self.logs / "model.jsonl"):
            if r.get("method") == "POST" and any(role == "user" and token in text
                                                 for role, text in message_texts(r)):
                found.append(r)
        return found

    def sent(self, token: str, chat_id: str = "111") -> list[dict[str, Any]]:
        """sendMessage calls to ``chat_id`` whose displayed text mentions ``token``, answered or not."""
        return [r for r in read_jsonl(self.logs / "telegram.jsonl")
                if r["method"].lower() == "sendmessage" and str(r["params"].get("chat_id")) == chat_id
                and token in displayed(r["params"])]

    def delivered(self, token: str, chat_id: str = "111") -> list[str]:
        """The displayed texts of the messages about ``token`` that Telegram accepted (HTTP 200)."""
        return [displayed(r["params"]) for r in self.sent(token, chat_id) if r["status"] == 200]

    def wire(self, path: str, token: str = "") -> list[dict[str, Any]]:
        """Requests clawsched sent the gateway to ``path`` whose body mentions ``token``."""
        return [r for r in read_jsonl(self.logs / "wire.jsonl")
                if r["path"].split("?")[0] == path and token in r["body"]]
