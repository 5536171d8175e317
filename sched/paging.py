"""Pages of a listing: one ``limit``/``offset`` slice of an ordered query, with the total it was cut from.

The HTTP API's list routes answer with ``total`` beside the rows, so a client pages without guessing
where the end is; the CLI's listings need no total and keep their own single queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from clawsched.sched.store.engine import Store

T = TypeVar("T")

MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    limit: int
    offset: int


def page(store: Store, query: Select[Any], *, limit: int, offset: int) -> Page[Any]:
    """Rows ``offset .. offset + limit`` of ``query`` (already ordered) and how many rows it has in all."""
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    with store.read() as s:
        total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = list(s.scalars(query.limit(limit).offset(offset)))
    return Page(rows=rows, total=int(total), limit=limit, offset=offset)
