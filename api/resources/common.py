"""What every resource router shares: its dependencies, the paging parameters, waking the beats, and the
input rules the database would otherwise enforce with a stack trace (no NUL characters, UTC instants)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.routing import APIRoute

from clawsched.sched.audit import Actor
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import SpecError
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.engine import Store

from .. import state
from . import models

RuntimeDep = Annotated[Runtime, Depends(state.runtime)]
StoreDep = Annotated[Store, Depends(state.store)]
ActorDep = Annotated[Actor, Depends(state.actor)]
Limit = Annotated[int, Query(ge=1, le=500, description="Records per page (at most 500).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Records to skip: the page's start.")]


def resource_router(prefix: str, tag: str) -> APIRouter:
    """A resource's router: camelCase operation ids, no NUL characters in, 401 and 422 documented."""
    return APIRouter(prefix=prefix, tags=[tag], generate_unique_id_function=operation_id,
                     dependencies=[Depends(refuse_nul)], responses=models.errors(401, 422))


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI ``operationId``: its function's name in camelCase (``list_jobs`` -> ``listJobs``), the
    method name a generated client gets."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def wake(rt: Runtime, reason: str) -> bool:
    """Wake the beats so a change takes effect now (False when Redis did not take the wake-up)."""
    return notify(rt.redis, rt.settings, reason)


def utc(instant: datetime | None, field: str) -> datetime | None:
    """An instant as aware UTC; one written without an offset is UTC already (DESIGN: Time)."""
    if instant is None:
        return None
    try:
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    except (OverflowError, ValueError):
        raise SpecError(f"{field}: {instant.isoformat()} is outside the range of UTC instants", field=field) from None


async def refuse_nul(request: Request) -> None:
    """Router dependency: no NUL character in the path, the query or a JSON body (PostgreSQL cannot store
    one in text, and no name, id or message needs it)."""
    if "\x00" in request.scope["path"]:
        raise SpecError("the path contains a NUL character", field="path")
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise SpecError(f"query parameter {key!r} contains a NUL character", field=key)
    raw = await request.body()
    if b"\\u0000" not in raw:
        return
    try:
        data = json.loads(raw)
    except ValueError:
        return  # not JSON: the body's own validation answers for it
    where = _nul_in(data)
    if where is not None:
        raise SpecError(f"{where or 'body'}: contains a NUL character", field=where or "body")


def _nul_in(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) in ``value`` holding a NUL, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return here
        found = _nul_in(item, here)
        if found is not None:
            return found
    return None


def width(column: Any) -> int:
    """The declared length of a text column: a body field's ``max_length``, so the database never refuses it."""
    return int(column.type.length)
