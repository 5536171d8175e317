"""The rules a whole spec must satisfy, across fields: what one field's validator cannot see alone.

A child needs a trigger and has no clock; gates and delays belong to children; the payload kind must run
in the session target; a webhook needs an http(s) URL; output limits nest; a watchdog needs its check
command and somewhere to alert. Each rule skips fields that already failed, so one mistake is reported once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import regex

from clawsched.sched.errors import SpecError
from clawsched.sched.rules import chains
from clawsched.sched.rules.schedules import validate_cron, zone
from clawsched.sched.specs.model import JobSpec, allowed_values
from clawsched.sched.specs.problems import Problems, ok


def check_rules(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """Cross-field rules; each skips fields that already failed so one mistake is reported once."""
    for rule in (_rule_time, _rule_chain, _rule_condition, _rule_target, _rule_auth_profile, _rule_delivery,
                 _rule_limits):
        rule(spec, explicit, probs)


def _rule_time(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """The zone must exist and the cron must parse in it, or the job would never fire."""
    if ok(probs, "schedule_tz"):
        try:
            zone(spec.schedule_tz)
        except SpecError as err:
            probs.add_error(err)
    if spec.schedule_kind == "cron" and spec.schedule_cron and ok(probs, "schedule_cron"):
        try:
            validate_cron(spec.schedule_cron, spec.schedule_tz if ok(probs, "schedule_tz") else "UTC")
        except SpecError as err:
            probs.add_error(err)


def _rule_chain(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """Children are started by their parent's outcome; gates and delays only make sense there."""
    if not ok(probs, "parent_id"):
        return
    allowed = ", ".join(allowed_values("trigger_on"))
    if spec.parent_id and spec.trigger_on is None and ok(probs, "trigger_on"):
        probs.add("trigger_on", f"is required for a child job (parent_id set); use one of {allowed}")
    if spec.parent_id:
        return
    if spec.trigger_on is not None:
        probs.add("trigger_on", "only child jobs have a trigger; set parent_id to chain this job after "
                  "another, or remove trigger_on")
    if isinstance(spec.trigger_delay_s, int) and spec.trigger_delay_s > 0:
        probs.add("trigger_delay_s", "only delays child jobs (parent_id set); roots follow their schedule")
    if spec.trigger_condition is not None:
        probs.add("trigger_condition", "only applies to child jobs (parent_id set)")
    if spec.approval_required is True:
        probs.add("approval_required", "approval gates apply to child jobs: put the risky step in a child "
                  "job (parent_id, trigger_on) with approval_required: the parent runs, the child waits")


def _rule_condition(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """A trigger condition is checked when the parent finishes; a bad one must fail now, not then."""
    condition = spec.trigger_condition
    if not isinstance(condition, str) or not ok(probs, "trigger_condition"):
        return
    if condition.startswith("contains:") and condition[len("contains:"):]:
        return
    if condition.startswith("regex:") and condition[len("regex:"):]:
        try:  # the engine that evaluates it (``rules.chains``): what it cannot compile would never fire
            chains.compile_regex(condition[len("regex:"):])
        except regex.error as exc:
            probs.add("trigger_condition", f"the regex does not compile ({exc}); use Python regex syntax")
        return
    probs.add("trigger_condition", "must be 'contains:<text>' or 'regex:<python regex>' (text not empty)")


_PAYLOAD_KINDS = {"shell": ("shellCommand",), "main": ("systemEvent",),
                  "isolated": ("agentTurn", "systemEvent"), "session": ("agentTurn",)}


def _rule_target(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """The payload must be one the session target can run; shell jobs need an explicit time budget."""
    target = spec.session_target
    if not ok(probs, "session_target"):
        return
    kinds = _PAYLOAD_KINDS.get(str(target), ())
    if ok(probs, "payload_kind") and kinds and spec.payload_kind not in kinds:
        probs.add("payload_kind", f"{spec.payload_kind!r} does not run in session_target {target!r}; "
                  f"use {' or '.join(kinds)} (or leave payload_kind out to derive it)")
    if target == "session" and not spec.session_id and ok(probs, "session_id"):
        probs.add("session_id", "is required for session_target 'session'; write it as 'session:<id>'")
    if target != "session" and spec.session_id and ok(probs, "session_id"):
        probs.add("session_id", f"is only used with session_target 'session:<id>', not {target!r}")
    if target == "shell" and "run_timeout_ms" not in explicit and ok(probs, "run_timeout_ms"):
        probs.add("run_timeout_ms", "is required for shell jobs (an integer > 0, in milliseconds), so a hung "
                  "command is killed; e.g. 120000")


def _rule_auth_profile(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """The gateway takes an auth profile only as a suffix of a backend model (``provider/model@profile``),
    so a profile without such a model would be accepted and then silently not used."""
    profile = spec.auth_profile
    if not isinstance(profile, str) or profile == "inherit" or not ok(probs, "auth_profile", "payload_model"):
        return
    if any(c.isspace() for c in profile) or "@" in profile or ":" not in profile:
        probs.add("auth_profile", f"must be 'inherit' or 'provider:label' (no spaces, no '@'), got {profile!r}")
        return
    model = spec.payload_model
    if not isinstance(model, str) or "/" not in model or model.startswith(("openclaw", "agent:")):
        probs.add("auth_profile", "needs payload_model set to a backend model ('provider/model'): the gateway "
                                  "reads a profile only as 'provider/model@profile'; set payload_model, or use "
                                  "auth_profile 'inherit' for the agent's own")


def _rule_delivery(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """A webhook delivery needs somewhere to post to."""
    if spec.delivery_mode != "webhook" or not ok(probs, "delivery_mode", "delivery_to"):
        return
    url = spec.delivery_to if isinstance(spec.delivery_to, str) else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        probs.add("delivery_to", f"delivery_mode 'webhook' needs an http(s) URL here, got {url or None!r}")


def _rule_limits(spec: JobSpec, explicit: set[str], probs: Problems) -> None:
    """Output limits nest (excerpt <= store, summary >= excerpt); a watchdog needs its check command and
    an alert target (``workers.executors.watchdog`` sends its alerts there, not to ``delivery_to``)."""
    store, excerpt = spec.output_store_limit_bytes, spec.output_excerpt_limit_bytes
    summary = spec.output_summary_limit_bytes
    if all(isinstance(v, int) for v in (store, excerpt, summary)) and ok(
        probs, "output_store_limit_bytes", "output_excerpt_limit_bytes", "output_summary_limit_bytes"
    ):
        if excerpt > store:
            probs.add("output_excerpt_limit_bytes", f"must not exceed output_store_limit_bytes ({store})")
        if summary < excerpt:
            probs.add("output_summary_limit_bytes", f"must be >= output_excerpt_limit_bytes ({excerpt})")
    if spec.job_type == "watchdog" and not spec.watchdog_check_cmd and ok(probs, "watchdog_check_cmd"):
        probs.add("watchdog_check_cmd", "is required for job_type 'watchdog'")
    if spec.job_type == "watchdog" and not spec.watchdog_alert_target and ok(probs, "watchdog_alert_target"):
        probs.add("watchdog_alert_target", "is required for job_type 'watchdog': the chat its alerts go to "
                  "(a chat id with watchdog_alert_channel, 'telegram:<id>', or an @alias)")
