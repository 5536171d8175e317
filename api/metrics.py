"""``/metrics``: the fleet as Prometheus sees it from the API (token-protected like every route but the
probes): Redis up, live workers and beats, run queue depth, gateway readiness, and the API process itself.
Each worker and beat serves its own counters on its own port (``docs/metrics.md``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from clawsched.sched import metrics as m
from clawsched.sched.settings import Settings

router = APIRouter(tags=["metrics"])


def registry_for(settings: Settings) -> CollectorRegistry:
    from clawsched.workers.gateway.client import client_for

    return m.exposition(None, m.FleetCollector(settings), m.gateway_probe(lambda: client_for(settings).ready()))


@router.get("/metrics", summary="Prometheus metrics: the fleet, the queue, the gateway",
            response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format 0.0.4"}})
def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = registry_for(request.app.state.runtime.settings)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
