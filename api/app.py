"""The FastAPI application: ``create_app(settings)``, what ``clawsched api`` serves with uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from clawsched.sched import __version__
from clawsched.sched.runtime import Runtime
from clawsched.sched.settings import Settings

from . import errors, routes
from .auth import require_token, resolve_token
from .dashboard import pages as dashboard
from .limits import BodyLimit
from .resources.models import errors as errors_of


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    rt = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if runtime is None:
            rt.close()

    app = FastAPI(title="clawsched", version=__version__, lifespan=lifespan,
                  description="The control plane of clawsched: jobs, runs, approvals, messages and agents, "
                              "and the OpenClaw-style tool endpoint `/v1/tools/invoke`. Every route but the "
                              "probes needs `Authorization: Bearer <token>`.")
    app.state.runtime = rt
    app.state.api_token = resolve_token(settings)
    # the token's name, what the audit log records as the actor of a change made through the API
    app.state.api_token_name = "CLAWSCHED_API_TOKEN" if settings.api_token else "api-token file"
    errors.install(app)
    unauthorized = errors_of(401)  # documented on every protected route, in the one error shape
    for router, protected in routes.ROUTERS:
        app.include_router(router, dependencies=[Depends(require_token)] if protected else [],
                           responses=unauthorized if protected else None)
    dashboard.install(app)
    app.add_middleware(BodyLimit)
    return app
