"""Watchdog jobs (``job_type: watchdog``): each fire runs ``watchdog_check_cmd`` and alerts when the
watched thing is stuck, as openclaw-scheduler's watchdog strategy does.

The check runs like a shell job (its own process group, killed on timeout or cancel, output on the run
row), with the peer's budget: the run's timeout, at most ``CHECK_TIMEOUT_S``. What it says:

* exit 0 with a JSON object on stdout that is terminal (``"terminal": true``, or ``status`` one of
  ``done``/``error``/``interrupted``/``spawn-warning``): the target ended. One message says so (``✅ ...
  completed``, or ``⚠️ ... ended with failure`` for any status but ``done``); the run is ``ok`` or ``error``.
* exit 1, or ``watchdog_timeout_min`` minutes gone since ``watchdog_started_at`` (else the job's
  ``created_at``): the target is stuck. A ``🚨 ... appears stuck`` alert; the run is ``error``.
* exit 0 otherwise: healthy (still running); the run is ``ok`` and nothing is sent.
* exit 2: transient, no verdict; the run is ``skipped`` and nothing is sent.
* any other exit code, or a check that timed out: the check itself failed; ``error``/``timeout``, no alert.

Alerts go to ``watchdog_alert_channel``/``watchdog_alert_target`` through ``outbound.chat.send_chat``
(kind ``watchdog``, as the dispatch watchdog's), at most once per run. With ``watchdog_self_destruct``
(the default) a watchdog that alerted disables itself, unless the alert could not be sent: then it stays
armed and alerts again on its next fire. ``judge`` is the pure part: plain values and ``now`` in, a
``Verdict`` out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from clawsched.sched import jobs
from clawsched.sched.audit import SCHEDULER
from clawsched.sched.errors import NotFound
from clawsched.sched.outcomes import Outcome
from clawsched.sched.runtime import Runtime
from clawsched.sched.settings import Settings
from clawsched.sched.states import RunStatus
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import JOBS, Job, detached, utcnow
from clawsched.workers.executors.base import ExecutionContext, Executor
from clawsched.workers.executors.shell import ShellExecutor

from ..outbound.chat import send_chat

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 60.0  # openclaw-scheduler: min(run_timeout_ms, 60000)
EXIT_STUCK, EXIT_TRANSIENT = 1, 2
TERMINAL_STATUSES = frozenset({"done", "error", "interrupted", "spawn-warning"})
EXCERPT_CHARS = 500  # of the check's stdout/stderr in an alert, as the peer's
DETAIL_CHARS = 2000  # of an ended target's own summary
SENT = frozenset({"delivered", "unconfirmed", "duplicate"})  # the chat has (or may have) it: disarm


@dataclass(frozen=True)
class Watch:
    """What a watchdog job watches, read off its row."""

    label: str
    check_cmd: str
    timeout_min: int | None
    started_at: datetime | None
    self_destruct: bool

    @classmethod
    def of(cls, job: Job) -> Watch:
        return cls(label=job.watchdog_target_label or job.name, check_cmd=job.watchdog_check_cmd or "",
                   timeout_min=job.watchdog_timeout_min, started_at=job.watchdog_started_at or job.created_at,
                   self_destruct=bool(job.watchdog_self_destruct))


@dataclass(frozen=True)
class Verdict:
    finding: str  # healthy | stuck | completed | failed | transient | broken
    status: RunStatus
    summary: str
    error: str | None = None
    alert: str | None = None  # the chat message, when there is one to send


def judge(watch: Watch, exit_code: int | None, stdout: str, stderr: str, *, now: datetime) -> Verdict:
    """What one check's exit code and output say about the target (the rules in the module docstring)."""
    stdout, stderr = stdout.strip(), stderr.strip()
    elapsed = _elapsed_min(watch, now)
    overdue = watch.timeout_min is not None and elapsed is not None and elapsed >= watch.timeout_min
    ran_for = f"{elapsed}min elapsed" if elapsed is not None else "start unknown"
    if exit_code == EXIT_TRANSIENT:
        said = (stderr or stdout or "(no output)")[:EXCERPT_CHARS]
        return Verdict("transient", RunStatus.SKIPPED, f"Watchdog check failed (transient, exit 2), no verdict: {said}")
    ended = _terminal(stdout) if exit_code == 0 else None
    if ended is not None:
        return _ended(watch, *ended)
    if exit_code == EXIT_STUCK or overdue:
        return _stuck(watch, exit_code, stdout, stderr, elapsed, overdue)
    if exit_code == 0:
        return Verdict("healthy", RunStatus.OK, f"Watchdog check: {watch.label!r} healthy, still running ({ran_for})")
    detail = f": {stderr[-EXCERPT_CHARS:]}" if stderr else ""
    return Verdict("broken", RunStatus.ERROR, f"Watchdog check command failed (exit code {exit_code}), no "
                   f"verdict and no alert{detail}", error=f"watchdog check exit code {exit_code}")


def _elapsed_min(watch: Watch, now: datetime) -> int | None:
    if watch.started_at is None:
        return None
    return round((now - watch.started_at).total_seconds() / 60)


def _terminal(stdout: str) -> tuple[str, str] | None:
    """(``completed``|``failed``, detail) when stdout holds a terminal JSON payload, else None."""
    payload = _json_object(stdout)
    if payload is None:
        return None
    status = payload.get("status") if isinstance(payload.get("status"), str) else None
    if payload.get("terminal") is not True and status not in TERMINAL_STATUSES:
        return None
    raw = payload.get("completion")
    completion: dict[str, Any] = raw if isinstance(raw, dict) else {}
    candidates = (payload.get("deliveryText"), payload.get("lastReply"), payload.get("error"),
                  payload.get("summary"), completion.get("deliveryText"), completion.get("summary"))
    detail = next((c.strip()[:DETAIL_CHARS] for c in candidates if isinstance(c, str) and c.strip()), None)
    if status and status != "done":
        return "failed", detail or f"Task ended with status {status}."
    return "completed", detail or f"Task reported terminal status {status or 'done'}."


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` is, or the one between its first ``{`` and last ``}``."""
    first, last = text.find("{"), text.rfind("}")
    for candidate in (text, text[first:last + 1] if 0 <= first < last else ""):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _ended(watch: Watch, kind: str, detail: str) -> Verdict:
    disarmed = " -- watchdog disarmed" if watch.self_destruct else ""
    if kind == "failed":
        text = f'⚠️ [watchdog] Task "{watch.label}" ended with failure{disarmed}\nDetails: {detail}'
        return Verdict("failed", RunStatus.ERROR, text, error=f"watchdog: {watch.label!r} ended with failure",
                       alert=text)
    text = f'✅ [watchdog] Task "{watch.label}" completed{disarmed}\n\n{detail}'
    return Verdict("completed", RunStatus.OK, text, alert=text)


def _stuck(watch: Watch, exit_code: int | None, stdout: str, stderr: str, elapsed: int | None,
           overdue: bool) -> Verdict:
    reason = (f"running for {elapsed}min (threshold: {watch.timeout_min}min)" if overdue
              else f"check command reported stuck (exit {exit_code})")
    command = watch.check_cmd.split()[0] if watch.check_cmd.split() else "?"
    lines = [
        f'🚨 [watchdog] Task "{watch.label}" appears stuck',
        f"- Started: {watch.started_at.isoformat() if watch.started_at else 'unknown'}",
        f"- Running for: {elapsed if elapsed is not None else '?'} minutes "
        f"(threshold: {watch.timeout_min or '?'} min)",
        f"- Reason: {reason}",
        f"- Check: {command}{' [...]' if len(watch.check_cmd) > 80 else ''}",
        f"- Error: {stderr[:EXCERPT_CHARS]}" if stderr else None,
        f"- Output: {stdout[:EXCERPT_CHARS]}" if stdout else None,
        "- Watchdog: disarmed after this alert" if watch.self_destruct else "- Watchdog: stays armed",
    ]
    return Verdict("stuck", RunStatus.ERROR, f"Watchdog alert fired: {reason}",
                   error=f"watchdog: {watch.label!r} appears stuck ({reason})",
                   alert="\n".join(line for line in lines if line))


class _CheckContext(ExecutionContext):
    """The run's context with the check's budget: the run's timeout, at most ``CHECK_TIMEOUT_S``."""

    @property
    def timeout_s(self) -> float:
        return min(super().timeout_s, CHECK_TIMEOUT_S)


@dataclass(frozen=True)
class _Edges:
    """What ``send_chat`` reads of a ``Runtime``: its settings and store (an executor holds no Redis)."""

    settings: Settings
    store: Store


class WatchdogExecutor(Executor):
    def execute(self, ctx: ExecutionContext) -> Outcome:
        job, run = ctx.job, ctx.run
        if not job.watchdog_check_cmd:
            return Outcome(RunStatus.ERROR, summary="Watchdog job has no watchdog_check_cmd; nothing was checked",
                           error_message="watchdog_check_cmd is missing")
        check = _check_job(job)
        shell = ShellExecutor().execute(_CheckContext(ctx.settings, ctx.store, check, run, ctx.cancelled))
        if shell.status in (RunStatus.TIMEOUT, RunStatus.CANCELLED):
            what = "timed out" if shell.status == RunStatus.TIMEOUT else "was cancelled"
            return replace(shell, summary=f"Watchdog check {what}, no verdict and no alert: {shell.error_message}")
        verdict = judge(Watch.of(job), shell.shell.get("shell_exit_code"), shell.shell.get("shell_stdout") or "",
                        shell.shell.get("shell_stderr") or "", now=utcnow())
        log.info("watchdog job %s run %s: %s (%s)", job.id, run.id, verdict.finding, verdict.summary)
        summary = verdict.summary
        if verdict.alert is not None:
            summary = f"{summary}\n\n{_alert(ctx, verdict.alert)}"
        return Outcome(verdict.status, summary=summary, error_message=verdict.error, shell=shell.shell)


def _check_job(job: Job) -> Job:
    """A transient copy of the job whose shell payload is its check command (never added to a session)."""
    values = {column.key: getattr(job, column.key) for column in JOBS.columns}
    return detached(Job, {**values, "payload_message": job.watchdog_check_cmd})


def _alert(ctx: ExecutionContext, text: str) -> str:
    """Send the alert and disarm a self-destructing watchdog once the chat has it; says what happened."""
    job, run = ctx.job, ctx.run
    target = job.watchdog_alert_target
    if not target:
        log.warning("watchdog job %s run %s: no watchdog_alert_target; alert not sent", job.id, run.id)
        return "Alert not sent: the job has no watchdog_alert_target; the watchdog stays armed."
    channel = job.watchdog_alert_channel
    where = f"{channel}:{target}" if channel else target
    sent = send_chat(cast(Runtime, _Edges(ctx.settings, ctx.store)), run.id, "watchdog", channel, target, text)
    if sent not in SENT:
        return f"Alert to {where}: {sent} (its deliveries row says why); the watchdog stays armed."
    if not job.watchdog_self_destruct:
        return f"Alert to {where}: {sent}; the watchdog stays armed (watchdog_self_destruct off)."
    try:
        jobs.set_enabled(ctx.store, job.id, False, actor=SCHEDULER)
    except NotFound:
        return f"Alert to {where}: {sent}; the job was already deleted."
    log.info("watchdog job %s run %s: alerted %s, disabled itself (watchdog_self_destruct)", job.id, run.id, where)
    return f"Alert to {where}: {sent}; the watchdog disabled itself (watchdog_self_destruct)."
