"""Ids by prefix: tables show the first 12 characters of a 32-digit id, and every command takes them.

An exact id always wins; otherwise a prefix of at least ``MIN_PREFIX`` characters that matches one row
is that row's id, and one that matches several is ``AmbiguousId`` listing them. A prefix that matches
nothing comes back unchanged, so the caller's own ``NotFound`` names it.
"""

from __future__ import annotations

from sqlalchemy import Table, select

from clawsched.sched.errors import AmbiguousId
from clawsched.sched.store.engine import Store
from clawsched.sched.store.tables import APPROVALS, JOBS, MESSAGES, RUNS, TASK_TRACKER

MIN_PREFIX = 4
SHOWN = 5

# kind -> (table, the column shown beside each candidate)
KINDS: dict[str, tuple[Table, str]] = {
    "job": (JOBS, "name"), "run": (RUNS, "status"), "approval": (APPROVALS, "status"),
    "message": (MESSAGES, "subject"), "tracker": (TASK_TRACKER, "name"),
}


def resolve(store: Store, kind: str, text: str) -> str:
    """The full id ``text`` stands for (see the module docstring)."""
    table, label = KINDS[kind]
    ident = table.c.id
    with store.read() as s:
        if s.execute(select(ident).where(ident == text)).first() is not None or len(text) < MIN_PREFIX:
            return text
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found = s.execute(select(ident, table.c[label]).where(ident.like(escaped + "%", escape="\\"))
                          .order_by(ident).limit(SHOWN + 1)).all()
    if not found:
        return text
    if len(found) == 1:
        return str(found[0][0])
    candidates = [{"id": str(row[0]), label: str(row[1])} for row in found[:SHOWN]]
    more = " and more" if len(found) > SHOWN else ""
    listed = ", ".join(f"{c['id']} ({c[label]})" for c in candidates)
    raise AmbiguousId(f"{kind} id prefix {text!r} matches several {kind}s: {listed}{more}; "
                      "give more characters of the id", candidates=candidates)
