"""What the API process holds (settings, one store, one Redis client) and the dependencies that hand
them to routes."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from clawsched.sched.audit import Actor, Source
from clawsched.sched.runtime import Runtime
from clawsched.sched.settings import Settings
from clawsched.sched.store.engine import Store


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def actor(request: Request) -> Actor:
    """Who a change through the API is by, for the audit log: the name of the token it carried."""
    return Actor(str(getattr(request.app.state, "api_token_name", "api token")), Source.API)


def store(request: Request) -> Store:
    return runtime(request).store


def settings(request: Request) -> Settings:
    return runtime(request).settings


def redis(request: Request) -> Any:
    return runtime(request).redis
