"""Agent executors: one agent turn through the OpenClaw gateway per run, chosen by session target.

* ``isolated``: ``POST /v1/chat/completions`` with a fresh app-owned session key per run
  (``clawsched:<job>:<run>``), so a run never sees another run's or the user's history; a job with a
  ``preferred_session_key`` uses that key instead.
* ``session:<id>``: the same call with the stable key ``<id>``: the session keeps its history.
* ``main``: a system event into the agent's main session (``POST /hooks/wake {text, mode}``, hooks
  token, the job's ``wake_mode``); there is no reply to store.

**Gateway-down rule.** Before an agent run starts, the ``gateway`` execution gate asks the gateway's
``/readyz`` (cached for 2 s). When it is not ready, nothing is sent, and:

* an ``isolated`` or ``session:<id>`` run is deferred: it goes back to ``pending`` with
  ``skip_reason = "waiting: gateway unavailable"`` and is tried again every few seconds, so it runs
  (late) once the gateway is back, as openclaw-scheduler defers isolated jobs. The wait is bounded:
  at most ``max_queued_dispatches`` runs of a job wait at once, and a run that has waited
  ``CLAWSCHED_GATEWAY_DEFER_S`` (default one hour) since it was due is recorded ``skipped`` instead;
* a ``main`` run (a wake event, worth little once late) is recorded ``skipped`` with
  ``skip_reason = "gateway unavailable"``.

A skip is not a failure: no retry, no error count, and the job's next fire comes from its schedule as
usual. Shell runs never pass through this gate, so an outage of the gateway cannot delay or fail them.
A gateway that goes down during a turn gives the run ``error`` (or ``timeout``), which the job's retry
policy may retry.

The prompt is assembled by ``sched.prompts`` from the header, the agent's pending inbox messages (up
to 5, marked delivered), the parent's trigger context, prior-run context (``recent``/``hybrid``), the
idempotency key of an at-least-once job, and the payload. A ``TASK_FAILED`` reply makes the run an
error; silent sentinels (``NO_REPLY``, ``IDEMPOTENT_SKIP``, ...) leave it ok and suppress delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from clawsched.sched import agents, messages
from clawsched.sched.errors import GatewayError, SpecError, TransientGatewayError
from clawsched.sched.rules import prompts
from clawsched.sched.runs import Outcome
from clawsched.sched.settings import Settings
from clawsched.sched.states import DeliveryGuarantee, RunStatus, SessionTarget
from clawsched.sched.store import retrieval
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Job, Run, utcnow
from clawsched.workers.executors.base import ExecutionContext, Executor
from clawsched.workers.gateway.client import (
    ChatReply,
    GatewayClient,
    GatewayTimeoutError,
    client_for,
    new_session_key,
    stable_session_key,
)

log = logging.getLogger(__name__)

AGENT_TARGETS = frozenset({SessionTarget.ISOLATED.value, SessionTarget.SESSION.value, SessionTarget.MAIN.value})
GATEWAY_UNAVAILABLE = "gateway unavailable"
SUMMARY_LIMIT = 5000

_STORES: dict[str, Store] = {}
_STORES_LOCK = threading.Lock()


def store_for(settings: Settings) -> Store:
    with _STORES_LOCK:
        store = _STORES.get(settings.database_url)
        if store is None:
            store = _STORES[settings.database_url] = Store(settings.database_url)
        return store


def register_all(register: Callable[[str, Callable[[], Executor]], None]) -> None:
    register(SessionTarget.ISOLATED.value, ChatExecutor)
    register(SessionTarget.SESSION.value, ChatExecutor)
    register(SessionTarget.MAIN.value, MainExecutor)


def gateway_gate(rt: Any, job: Job, run: Run, leases: list[Any]) -> Any:
    """The documented gateway-down rule (module docstring): agent runs wait for, or skip, an unready gateway."""
    if job.session_target not in AGENT_TARGETS or client_for(rt.settings).ready():
        return None
    if job.session_target == SessionTarget.MAIN.value:
        return GATEWAY_UNAVAILABLE
    from clawsched.workers.execution import wait_bounded

    limit = rt.settings.gateway_defer_s
    waited = (utcnow() - (run.scheduled_for or run.created_at)).total_seconds()
    if waited >= limit:
        return f"{GATEWAY_UNAVAILABLE} for over {limit:g}s"
    return wait_bounded(rt, job, run, GATEWAY_UNAVAILABLE)


def session_key_for(job: Job, run: Run) -> str:
    if job.session_target == SessionTarget.SESSION.value and job.session_id:
        return stable_session_key(job.session_id)
    if job.preferred_session_key:
        return stable_session_key(job.preferred_session_key)
    return new_session_key(job.id, run.id)


def assemble_prompt(store: Store, job: Job, run: Run) -> str:
    """Everything the agent should see for this run; pending inbox messages are marked delivered."""
    inbox = [prompts.InboxItem(m.from_agent, m.kind, m.subject, m.body, m.owner)
             for m in messages.take_for_prompt(store, job.agent_id, prompts.MAX_PROMPT_MESSAGES)]
    prior = retrieval.context_for(store, job_id=job.id, exclude_run=run.id, mode=job.context_retrieval,
                                  limit=job.context_retrieval_limit or 5, query=job.payload_message)
    key = None
    if job.delivery_guarantee == DeliveryGuarantee.AT_LEAST_ONCE.value:
        key = ensure_idempotency_key(store, job, run)
    return prompts.build(job_id=job.id, name=job.name, payload=job.payload_message, messages=inbox,
                         trigger_context=run.trigger_context, prior=prior, idempotency_key=key,
                         thinking=job.payload_thinking)


def ensure_idempotency_key(store: Store, job: Job, run: Run) -> str:
    if run.idempotency_key:
        return run.idempotency_key
    instant = run.scheduled_for.isoformat() if run.scheduled_for else f"run:{run.id}"
    key = prompts.idempotency_key(job.id, instant)
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run.id, Run.idempotency_key.is_(None)).values(idempotency_key=key))
    run.idempotency_key = key
    return key


class ChatExecutor(Executor):
    """``isolated`` and ``session:<id>`` jobs: one chat-completions turn."""

    def execute(self, ctx: ExecutionContext) -> Outcome:
        job, run = ctx.job, ctx.run
        store = store_for(ctx.settings)
        try:
            key = session_key_for(job, run)
        except SpecError as exc:
            return Outcome(RunStatus.ERROR, summary=str(exc), error_message=str(exc))
        prompt = assemble_prompt(store, job, run)
        client = client_for(ctx.settings)
        agents.set_status(store, job.agent_id, "busy", key)
        try:
            reply = _interruptible(lambda: client.chat(agent_id=job.agent_id, message=prompt, session_key=key,
                                                       model=job.payload_model, timeout_s=ctx.timeout_s),
                                   ctx.cancelled)
        except GatewayTimeoutError as exc:
            return Outcome(RunStatus.TIMEOUT, summary=str(exc), error_message=str(exc), session_key=key)
        except (TransientGatewayError, GatewayError) as exc:
            return Outcome(RunStatus.ERROR, summary=str(exc)[:500], error_message=str(exc), session_key=key)
        finally:
            agents.set_status(store, job.agent_id, "idle")
        if reply is None:
            return Outcome(RunStatus.CANCELLED, summary="cancelled during the agent turn", session_key=key)
        return outcome_of(reply, key)


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


def _interruptible(call: Callable[[], ChatReply], cancelled: threading.Event) -> ChatReply | None:
    """Run the blocking turn in a helper thread so a cancel stops waiting at once; None when cancelled."""
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
        if cancelled.is_set() and thread.is_alive():
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
        mode = job.wake_mode if job.wake_mode in ("now", "next-heartbeat") else "now"
        try:
            body = client.wake(text, mode, agent_id=job.agent_id if job.agent_id != "main" else None)  # type: ignore[arg-type]
        except GatewayError as exc:
            return Outcome(RunStatus.ERROR, summary=str(exc)[:500], error_message=str(exc), session_key="main")
        outcome = body.get("eventOutcome", "queued")
        return Outcome(RunStatus.OK, summary=f"system event {outcome} on the main session (wake {mode})",
                       session_key="main")
