"""Delivery aliases: ``@name`` in a job's ``delivery_to`` names a (channel, target) pair, resolved when
the delivery is made, so changing an alias redirects every job that uses it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from clawsched.sched.errors import NotFound, SpecError
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import DeliveryAlias, utcnow


def add(store: Store, name: str, channel: str, target: str, description: str | None = None) -> DeliveryAlias:
    name = _bare(name)
    if not name or not channel or not target:
        raise SpecError("alias needs a name, a channel and a target, as in `alias add ops telegram -1001`",
                        field="alias")
    with store.session() as s:
        row = s.get(DeliveryAlias, name)
        if row is None:
            row = DeliveryAlias(name=name, channel=channel, target=target, description=description, created_at=utcnow())
            s.add(row)
        else:
            row.channel, row.target, row.description = channel, target, description
        return row


def remove(store: Store, name: str) -> None:
    with store.session() as s:
        row = s.get(DeliveryAlias, _bare(name))
        if row is None:
            raise NotFound(f"alias {name!r} not found; list aliases with `clawsched alias list`")
        s.delete(row)


def list_all(store: Store) -> list[DeliveryAlias]:
    with store.read() as s:
        return list(s.scalars(select(DeliveryAlias).order_by(DeliveryAlias.name)))


def resolve(store: Store, channel: str | None, target: str) -> tuple[str | None, str]:
    """(channel, target) for a delivery; ``@name`` is looked up and a missing alias raises ``NotFound``."""
    if not target.startswith("@"):
        return channel, target
    with store.read() as s:
        row = s.get(DeliveryAlias, _bare(target))
        if row is None:
            raise NotFound(f"delivery alias {target!r} does not exist; add it with "
                           f"`clawsched alias add {_bare(target)} <channel> <target>`")
        return row.channel, row.target


def as_dict(row: DeliveryAlias) -> dict[str, Any]:
    return {"name": row.name, "channel": row.channel, "target": row.target, "description": row.description,
            "created_at": row.created_at}


def _bare(name: str) -> str:
    return name.strip().removeprefix("@")


def get(store: Store, name: str) -> DeliveryAlias:
    """One alias by name (with or without the ``@``)."""
    return store.fetch(DeliveryAlias, _bare(name),
                       f"alias {name!r} not found; list aliases with `clawsched alias list`")
