"""What a tool is (name, description, argument model, handler) and what a handler is given (``Context``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DataError

from clawsched.sched.audit import Actor, Source
from clawsched.sched.errors import SpecError
from clawsched.sched.runtime import Runtime
from clawsched.sched.store.engine import Store

from .args import Args


@dataclass
class Context:
    """One invocation: the process's runtime, the one clock reading it reasons with, and the caller's
    session key (``sessionTarget: "current"`` binds to it) and ``dryRun``."""

    runtime: Runtime
    now: datetime
    session_key: str | None = None
    dry_run: bool = False
    woken: list[str] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        """Who a change made through a tool is by, for the audit log: the calling agent's session."""
        return Actor(self.session_key or "agent", Source.AGENT)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def wake(self, reason: str) -> bool:
        """Wake the beats after a change, as the CLI does, so it takes effect now (never on a dry run)."""
        from clawsched.sched.coordination.wake import notify

        if self.dry_run:
            return False
        self.woken.append(reason)
        return notify(self.runtime.redis, self.runtime.settings, reason)


    def start(self, run_id: str, reason: str) -> bool:
        """Send a run just queued (due ``now``) to the workers from this process (``api.sending``), or
        wake the beats to; never on a dry run."""
        from ..sending import start_now

        if self.dry_run:
            return False
        self.woken.append(reason)
        return start_now(self.runtime, run_id, self.now, reason)


Handler = Callable[[Context, Any], dict[str, Any]]


@dataclass(frozen=True)
class Tool:
    """A tool as ``GET /v1/tools`` lists it. ``promote`` names result keys also copied to the top level of
    the answer (``cron.run`` answers ``{ok, enqueued, runId, result}``)."""

    name: str
    description: str
    args: type[Args]
    run: Handler
    promote: tuple[str, ...] = ()

    @functools.cached_property
    def parameters(self) -> dict[str, Any]:
        """The arguments' JSON schema, plain enough for every model provider: no titles, and an optional
        argument as its own type rather than a union with null (leaving it out is how to omit it)."""
        schema = self.args.model_json_schema(mode="validation")
        schema.pop("title", None)
        schema["properties"] = {k: _without_null(p) for k, p in schema.get("properties", {}).items()}
        return schema

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    prop = {k: v for k, v in prop.items() if k != "title"}
    options = [o for o in prop.get("anyOf", ()) if o != {"type": "null"}]
    if "anyOf" in prop and len(options) == 1:
        del prop["anyOf"]
        prop = {**options[0], **prop}
    elif "anyOf" in prop and all(set(o) == {"type"} for o in options):
        del prop["anyOf"]
        prop["type"] = [o["type"] for o in options]
    if prop.get("default", 0) is None:
        del prop["default"]
    return prop


def spec_errors_under(where: str | None, call: Callable[[], Any]) -> Any:
    """``call()``, with a ``SpecError``'s field named as the caller wrote it (``job.schedule.everyMs``).

    ``sched.specs`` names each problem by the key the user wrote at the start of its message and by the
    canonical column in ``field``; a tool caller needs the former, under the object it nested the job in.
    The spec sets no upper bound on its integers, so an absurd one overflows computing the first fire or
    storing the row: that too is the caller's value at fault, not a server error.
    """
    try:
        return call()
    except OverflowError as exc:  # a number the spec accepts but no instant (or SQLite integer) can hold
        field = where or "job"
        raise SpecError(f"{field}: a value is out of range ({exc})", field=field) from None
    except DataError as exc:  # PostgreSQL: a number the spec accepts past its column's range
        field = where or "job"
        raise SpecError(f"{field}: a value is out of range for the database ({type(exc.orig).__name__})",
                        field=field) from None
    except SpecError as exc:
        first = exc.errors[0]["message"] if exc.errors else str(exc)
        written = first.split(": ", 1)[0]
        name = written if written and " " not in written else (exc.field or "job")
        raise SpecError(str(exc), field=f"{where}.{name}" if where else name, errors=exc.errors) from None


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that were given (not None)."""
    return {k: v for k, v in values.items() if v is not None}
