"""``/v1/messages`` and ``/v1/agents/{agent}/inbox``: the inter-agent message queue, through
``clawsched.sched.messages`` as ``clawsched msg ...`` does."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Query, status
from pydantic import BaseModel, Field

from clawsched.sched import messages as svc
from clawsched.sched.store.tables import MESSAGE_RECEIPTS, MESSAGES

from . import models
from .common import RuntimeDep, StoreDep, resource_router, utc, wake, width

router = resource_router("", "messages")

TEN_YEARS_S = 10 * 365 * 86400
Kind = Literal["text", "task", "result", "status", "system", "spawn", "decision", "constraint", "fact", "preference"]
assert set(Kind.__args__) == set(svc.KINDS)  # type: ignore[attr-defined]


class NewMessage(BaseModel):
    from_agent: str = Field(min_length=1, max_length=width(MESSAGES.c.from_agent))
    to_agent: str = Field(min_length=1, max_length=width(MESSAGES.c.to_agent),
                          description="An agent id, or `broadcast` for every agent; kind `spawn` to `scheduler` "
                                      "creates a job from a JSON spec body.")
    body: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, max_length=width(MESSAGES.c.subject))
    kind: Kind = "text"
    priority: Literal[0, 1, 2] = Field(default=0, description="0 normal, 1 high, 2 urgent.")
    reply_to: str | None = Field(default=None, max_length=width(MESSAGES.c.reply_to),
                                 description="The message this one answers.")
    metadata: dict[str, Any] | None = None
    owner: str | None = Field(default=None, max_length=width(MESSAGES.c.owner))
    channel: str | None = Field(default=None, max_length=width(MESSAGES.c.channel))
    ttl_s: float | None = Field(default=None, gt=0, le=TEN_YEARS_S, description="Seconds until it expires unread.")
    expires_at: datetime | None = Field(default=None,
                                        description="When it expires unread (ISO-8601; UTC without an offset).")
    job_id: str | None = Field(default=None, max_length=width(MESSAGES.c.job_id))
    run_id: str | None = Field(default=None, max_length=width(MESSAGES.c.run_id))


class ReadBy(BaseModel):
    agent: str | None = Field(default=None, min_length=1, max_length=width(MESSAGE_RECEIPTS.c.agent_id),
                              description="Who read it (needed for a broadcast; default: its recipient).")


class AckBy(BaseModel):
    actor: str | None = Field(default=None, min_length=1, max_length=width(MESSAGE_RECEIPTS.c.agent_id))
    note: str | None = Field(default=None, max_length=10_000)


@router.post("/v1/messages", response_model=models.MessageOut, status_code=status.HTTP_201_CREATED,
             summary="Send a message", responses=models.errors(body=True))
def send_message(rt: RuntimeDep, new: NewMessage) -> dict[str, Any]:
    fields = new.model_dump(exclude={"from_agent", "to_agent", "body", "expires_at"})
    msg = svc.send(rt.store, new.from_agent, new.to_agent, new.body, expires_at=utc(new.expires_at, "expires_at"),
                   **fields)
    if new.kind == "spawn":
        wake(rt, "spawn message")
    return {"ok": True, "message": svc.as_dict(msg)}


@router.get("/v1/messages/{message_id}", response_model=models.MessageDetail, responses=models.errors(404),
            summary="One message with its receipts (delivered, read, acked, expired)")
def get_message(store: StoreDep, message_id: str) -> dict[str, Any]:
    msg = svc.get(store, message_id)
    return {"ok": True, "message": svc.as_dict(msg),
            "receipts": [svc.receipt_dict(r) for r in svc.receipts(store, message_id)]}


@router.get("/v1/messages/{message_id}/thread", response_model=models.MessageList, responses=models.errors(404),
            summary="The conversation a message belongs to, oldest first")
def get_thread(store: StoreDep, message_id: str) -> dict[str, Any]:
    return {"ok": True, "messages": [svc.as_dict(m) for m in svc.thread(store, message_id)]}


@router.post("/v1/messages/{message_id}/read", response_model=models.MessageOut,
             responses=models.errors(404, body=True), summary="Mark a message read (idempotent)")
def read_message(store: StoreDep, message_id: str,
         by: Annotated[ReadBy | None, Body(description="Optional: who read it.")] = None) -> dict[str, Any]:
    return {"ok": True, "message": svc.as_dict(svc.read(store, message_id, by.agent if by else None))}


@router.post("/v1/messages/{message_id}/ack", response_model=models.MessageOut,
             responses=models.errors(404, body=True), summary="Acknowledge a message: read, plus an `acked` receipt")
def ack_message(store: StoreDep, message_id: str,
        by: Annotated[AckBy | None, Body(description="Optional: who acknowledges it, and a note.")] = None,
        ) -> dict[str, Any]:
    by = by or AckBy()
    return {"ok": True, "message": svc.as_dict(svc.ack(store, message_id, by.actor, by.note))}


@router.get("/v1/agents/{agent_id}/inbox", response_model=models.MessageList,
            summary="An agent's messages, direct and broadcast, urgent first then oldest first")
def get_inbox(store: StoreDep, agent_id: str, limit: Annotated[int, Query(ge=1, le=500)] = 50,
          include_read: Annotated[bool, Query(description="Also messages already read.")] = False) -> dict[str, Any]:
    rows = svc.inbox(store, agent_id, limit, include_read=include_read)
    return {"ok": True, "messages": [svc.as_dict(m) for m in rows]}
