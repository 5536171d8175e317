"""Every problem with a spec, collected by field, so the CLI and the API can list them all at once.

Validation does not stop at the first mistake: each step adds what it finds here and skips fields that
already failed, and only the end of parsing raises one ``SpecError`` carrying the whole list.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from clawsched.sched.errors import SpecError


class Problems:
    """Collects every problem with its field; ``origin`` maps canonical fields back to what the user wrote."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.origin: dict[str, str] = {}
        self.bad: set[str] = set()

    def add(self, field: str, message: str) -> None:
        shown = self.origin.get(field, field)
        self.items.append({"field": field, "message": f"{shown}: {message}"})
        self.bad.add(field)

    def suppress(self, *fields: str) -> None:
        """Mark fields as already explained, so a follow-on "is required" does not repeat the cause."""
        self.bad.update(fields)

    def add_error(self, err: SpecError) -> None:
        """Take over the problems of a ``SpecError`` from the schedule rules, without repeating the field."""
        for item in err.errors or [{"field": err.field or "job", "message": str(err)}]:
            field = item["field"]
            text = item["message"]
            self.add(field, text.split(": ", 1)[1] if text.startswith(f"{field}: ") else text)

    def raise_if_any(self) -> None:
        """One ``SpecError`` for everything collected: one problem as is, several counted and listed."""
        if not self.items:
            return
        if len(self.items) == 1:
            message = self.items[0]["message"]
        else:
            listed = "; ".join(i["message"] for i in self.items)
            message = f"invalid job ({len(self.items)} problems): {listed}"
        raise SpecError(message, field=self.items[0]["field"], errors=list(self.items))


def ok(probs: Problems, *fields: str) -> bool:
    """Whether none of ``fields`` failed yet: a rule that reads a bad field would repeat its cause."""
    return not probs.bad.intersection(fields)


def unknown(probs: Problems, where: str, keys: Iterable[str], known: Iterable[str]) -> None:
    """Report each unknown key under ``where`` with the closest known one, as typos usually are."""
    choices = list(known)
    for key in keys:
        close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        probs.add(f"{where}{key}", f"unknown field{hint}")
