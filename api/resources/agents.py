"""``/v1/agents``: the agents registry, through ``clawsched.sched.agents`` as ``clawsched agents ...`` does."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from clawsched.sched import agents as svc
from clawsched.sched.store.tables import AGENTS

from . import models
from .common import StoreDep, resource_router, width

router = resource_router("/v1/agents", "agents")


class Registration(BaseModel):
    id: str = Field(min_length=1, max_length=width(AGENTS.c.id), description="The agent's id (as in `agent_id`).")
    name: str | None = Field(default=None, max_length=width(AGENTS.c.name))
    capabilities: list[str] | None = None
    delivery_channel: str | None = Field(default=None, max_length=width(AGENTS.c.delivery_channel))
    delivery_to: str | None = Field(default=None, max_length=width(AGENTS.c.delivery_to))
    brand_name: str | None = Field(default=None, max_length=width(AGENTS.c.brand_name))


@router.get("", response_model=models.AgentList, summary="Every known agent")
def list_agents(store: StoreDep) -> dict[str, Any]:
    return {"ok": True, "agents": [svc.as_dict(a) for a in svc.list_all(store)]}


@router.post("", response_model=models.AgentOut, responses=models.errors(body=True),
             summary="Register an agent, or change the fields given of one already known")
def register_agent(store: StoreDep, registration: Registration) -> dict[str, Any]:
    fields = registration.model_dump(exclude_unset=True, exclude={"id", "name"})
    agent = svc.register(store, registration.id, registration.name, **fields)
    return {"ok": True, "agent": svc.as_dict(agent)}


@router.get("/{agent_id}", response_model=models.AgentOut, summary="One agent", responses=models.errors(404))
def get_agent(store: StoreDep, agent_id: str) -> dict[str, Any]:
    return {"ok": True, "agent": svc.as_dict(svc.get(store, agent_id))}
