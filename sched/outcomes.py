"""What an executor reports about one run: the value the worker writes in one guarded UPDATE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .states import RunStatus


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    summary: str | None = None
    error_message: str | None = None
    reply: str | None = None
    usage: dict[str, Any] | None = None
    session_key: str | None = None
    shell: dict[str, Any] = field(default_factory=dict)  # shell_* columns

    def columns(self) -> dict[str, Any]:
        """The run columns this outcome sets (agent fields only when the executor reported them)."""
        values: dict[str, Any] = {"status": self.status.value, "summary": self.summary,
                                  "error_message": self.error_message, **self.shell}
        for name in ("reply", "usage", "session_key"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        return values
