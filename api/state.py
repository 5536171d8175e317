"""What the API process holds (settings, one store, one Redis client) and the dependencies that hand
them to routes."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from clawsched.sched.runtime import Runtime
from clawsched.sched.settings import Settings
from clawsched.sched.store.engine import Store


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def store(request: Request) -> Store:
    return runtime(request).store


def settings(request: Request) -> Settings:
    return runtime(request).settings


def redis(request: Request) -> Any:
    return runtime(request).redis
