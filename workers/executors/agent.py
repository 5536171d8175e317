"""Agent executors: one agent turn through the OpenClaw gateway per run, chosen by session target.

* ``isolated``: ``POST /v1/chat/completions`` with a fresh app-owned session key per run
  (``clawsched:<job>:<run>``), so a run never sees another run's or the user's history; a job with a
  ``preferred_session_key`` uses that key instead.
* ``session:<id>``: the same call with the stable key ``<id>``: the session keeps its history.
* ``main``: a system event into the agent's main session (``POST /hooks/wake {text, mode}``, hooks
  token, the job's ``wake_mode``); there is no reply to store.

Before an agent run starts, the ``gateway`` gate (``workers.gates``) checks that the gateway is ready.
A turn the gateway refused, or could not reach its model for, is an ``error`` the job's retry policy may
retry. A turn whose answer never came (the gateway died or restarted mid-turn, no answer within the
run's budget, an internal error) is ``unconfirmed``: the real gateway resumes an interrupted turn by
itself, so only an ``at-least-once`` job (its prompt carries the idempotency key) is replayed.

The prompt is assembled by ``sched.prompts`` from the header, the agent's pending inbox messages (up
to 5, marked delivered), the parent's trigger context, prior-run context (``recent``/``hybrid``), the
idempotency key of an at-least-once job, and the payload. A ``TASK_FAILED`` reply makes the run an
error; silent sentinels (``NO_REPLY``, ``IDEMPOTENT_SKIP``, ...) leave it ok and suppress delivery.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from clawsched.sched import agents, messages
from clawsched.sched.errors import GatewayError, SpecError, TransientGatewayError
from clawsched.sched.outcomes import Outcome
from clawsched.sched.rules import prompts, session_keys
from clawsched.sched.states import DeliveryGuarantee, RunStatus, SessionTarget
from clawsched.sched.store import retrieval
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Job, Run
from clawsched.workers.executors import idle
from clawsched.workers.executors.base import ExecutionContext, Executor
from clawsched.workers.gateway.client import (
    ChatReply,
    GatewayClient,
    UnconfirmedError,
    client_for,
    new_session_key,
    stable_session_key,
)
from clawsched.workers.gateway.replies import SILENT_REPLY_NOTE

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 5000

def session_key_for(job: Job, run: Run) -> str:
    if job.session_target == SessionTarget.SESSION.value and job.session_id:
        return stable_session_key(job.session_id)
    if job.preferred_session_key:
        return stable_session_key(job.preferred_session_key)
    return new_session_key(job.id, run.id)


def assemble_prompt(store: Store, job: Job, run: Run) -> str:
    """Everything the agent should see for this run; pending inbox messages are marked delivered.

    A plan-only or read-only job gets its boundary note here: the agent knows nothing of the job's
    columns, so an unstated ``execution_intent``/``execution_read_only`` would bind it to nothing."""
    inbox = [prompts.InboxItem(m.from_agent, m.kind, m.subject, m.body, m.owner)
             for m in messages.take_for_prompt(store, job.agent_id, prompts.MAX_PROMPT_MESSAGES)]
    prior = retrieval.context_for(store, job_id=job.id, exclude_run=run.id, mode=job.context_retrieval,
                                  limit=job.context_retrieval_limit or 5, query=job.payload_message)
    # an at-least-once run got its key before it started (``store.starting.ensure_idempotency_key``)
    key = run.idempotency_key if job.delivery_guarantee == DeliveryGuarantee.AT_LEAST_ONCE.value else None
    return prompts.build(job_id=job.id, name=job.name, payload=job.payload_message, messages=inbox,
                         trigger_context=run.trigger_context, prior=prior, idempotency_key=key,
                         thinking=job.payload_thinking, execution_intent=job.execution_intent,
                         read_only=job.execution_read_only)


class ChatExecutor(Executor):
    """``isolated`` and ``session:<id>`` jobs: one chat-completions turn."""

    def execute(self, ctx: ExecutionContext) -> Outcome:
        job, run = ctx.job, ctx.run
        store = ctx.store
        try:
            key = session_key_for(job, run)
        except SpecError as exc:
            return Outcome(RunStatus.ERROR, summary=str(exc), error_message=str(exc))
        header, _, body = assemble_prompt(store, job, run).partition("\n")
        prompt = f"{header}\n{SILENT_REPLY_NOTE}\n{body}"  # the payload stays last
        client = client_for(ctx.settings)
        used = session_keys.as_gateway_keys_it(job.agent_id, key)  # what the run records
        watch = idle.IdleWatch(lambda args: client.invoke_tool("sessions_list", args), used,
                               idle.idle_limit_s(job.payload_timeout_seconds)) if job.payload_timeout_seconds else None
        agents.set_status(store, job.agent_id, "busy", key)
        try:
            with watch or contextlib.nullcontext():
                reply = _interruptible(
                    lambda: client.chat(agent_id=job.agent_id, message=prompt, session_key=key, model=job.payload_model,
                                        timeout_s=ctx.timeout_s, auth_profile=job.auth_profile),
                    ctx.cancelled, watch.idle if watch else None)
        except UnconfirmedError as exc:
            return unconfirmed(exc, used)
        except (TransientGatewayError, GatewayError) as exc:
            return Outcome(RunStatus.ERROR, summary=str(exc)[:500], error_message=str(exc), session_key=used)
        finally:
            agents.set_status(store, job.agent_id, "idle")
        if reply is None and watch is not None and watch.idle.is_set():
            return unconfirmed(UnconfirmedError(watch.describe()), used)  # the gateway may still finish the turn
        if reply is None:
            return Outcome(RunStatus.CANCELLED, summary="cancelled during the agent turn", session_key=used)
        return outcome_of(reply, reply.session_key or used)


def unconfirmed(exc: UnconfirmedError, key: str) -> Outcome:
    """The turn reached the gateway and no answer came back: it may have run (the gateway resumes a turn
    its restart interrupted), so the run says so and nothing repeats it blindly."""
    return Outcome(RunStatus.UNCONFIRMED, summary=f"unconfirmed: {exc}"[:500], error_message=str(exc),
                   session_key=key)


def outcome_of(reply: ChatReply, key: str) -> Outcome:
    content = reply.content
    usage = dict(reply.usage or {})
    usage.setdefault("gateway_ms", reply.duration_ms)
    if reply.model:
        usage.setdefault("model", reply.model)
    if prompts.matches_sentinel(content, prompts.TASK_FAILED):
        return Outcome(RunStatus.ERROR, summary=content[:SUMMARY_LIMIT], error_message="agent replied TASK_FAILED",
                       reply=content, usage=usage, session_key=key)
    return Outcome(RunStatus.OK, summary=content[:SUMMARY_LIMIT], reply=content, usage=usage, session_key=key)


def _interruptible(call: Callable[[], ChatReply], cancelled: threading.Event,
                   idle: threading.Event | None = None) -> ChatReply | None:
    """Run the blocking turn in a helper thread so a cancel (or the idle watch) stops waiting at once;
    None when either did. The request itself is left to end on its own timeout."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["reply"] = call()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="agent-turn", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        if (cancelled.is_set() or (idle is not None and idle.is_set())) and thread.is_alive():
            return None
    if "error" in box:
        raise box["error"]
    return box["reply"]  # type: ignore[no-any-return]


class MainExecutor(Executor):
    """``main`` jobs: a system event queued on the agent's main session through ``/hooks/wake``."""

    def execute(self, ctx: ExecutionContext) -> Outcome:
        job = ctx.job
        client: GatewayClient = client_for(ctx.settings)
        text = f"{prompts.header(job.id, job.name)} {job.payload_message}"
        if note := prompts.execution_note(job.execution_intent, job.execution_read_only):
            text = f"{prompts.header(job.id, job.name)}\n{note}\n{job.payload_message}"  # the wake keeps its bounds
        mode = job.wake_mode if job.wake_mode in ("now", "next-heartbeat") else "now"
        try:
            body = client.wake(text, mode, agent_id=job.agent_id if job.agent_id != "main" else None)  # type: ignore[arg-type]
        except UnconfirmedError as exc:
            return unconfirmed(exc, "main")
        except GatewayError as exc:
            return Outcome(RunStatus.ERROR, summary=str(exc)[:500], error_message=str(exc), session_key="main")
        outcome = body.get("eventOutcome", "queued")
        return Outcome(RunStatus.OK, summary=f"system event {outcome} on the main session (wake {mode})",
                       session_key="main")
