"""``/v1/aliases``: delivery aliases (``@name`` as a job's ``delivery_to``), through
``clawsched.sched.aliases`` as ``clawsched alias ...`` does."""

from __future__ import annotations

from typing import Any

from fastapi import status
from pydantic import BaseModel, Field

from clawsched.sched import aliases as svc
from clawsched.sched.store.tables import DELIVERY_ALIASES

from . import models
from .common import StoreDep, resource_router, width

router = resource_router("/v1/aliases", "aliases")


class NewAlias(BaseModel):
    name: str = Field(min_length=1, max_length=width(DELIVERY_ALIASES.c.name), description="`ops` or `@ops`.")
    channel: str = Field(min_length=1, max_length=width(DELIVERY_ALIASES.c.channel), examples=["telegram"])
    target: str = Field(min_length=1, max_length=width(DELIVERY_ALIASES.c.target), examples=["-1001234567"])
    description: str | None = Field(default=None, max_length=10_000)


@router.get("", response_model=models.AliasList, summary="Every delivery alias")
def list_aliases(store: StoreDep) -> dict[str, Any]:
    return {"ok": True, "aliases": [svc.as_dict(a) for a in svc.list_all(store)]}


@router.post("", response_model=models.AliasOut, status_code=status.HTTP_201_CREATED,
             responses=models.errors(body=True), summary="Add an alias, or replace the one of that name")
def add_alias(store: StoreDep, alias: NewAlias) -> dict[str, Any]:
    row = svc.add(store, alias.name, alias.channel, alias.target, alias.description)
    return {"ok": True, "alias": svc.as_dict(row)}


@router.get("/{name}", response_model=models.AliasOut, summary="One alias", responses=models.errors(404))
def get_alias(store: StoreDep, name: str) -> dict[str, Any]:
    return {"ok": True, "alias": svc.as_dict(svc.get(store, name))}


@router.delete("/{name}", response_model=models.Removed, responses=models.errors(404),
               summary="Remove an alias (jobs that use it then fail their delivery visibly)")
def remove_alias(store: StoreDep, name: str) -> dict[str, Any]:
    svc.remove(store, name)
    return {"ok": True, "removed": name.strip().removeprefix("@")}
