"""``JobSpec``: the frozen, validated job, with the same column names and defaults as the ``Job`` row.

Which fields are state (shown, never set), input only (``run_now``) or the schedule also lives here, next to
the model, so every other module of the package reads one definition.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, Field

from clawsched.sched.rules.routing import QUEUE_PATTERN
from clawsched.sched.specs.fields import (
    ID_PATTERN,
    S64,
    S100K,
    S128,
    S256,
    S512,
    S1024,
    S4096,
    Bool,
    Id,
    Instant,
    Int,
    Message,
    Name,
    Tz,
    environment,
    optional_text,
    required_text,
)
from clawsched.sched.specs.governance import GovernanceFields, pack
from clawsched.sched.states import (
    Catchup,
    ContextRetrieval,
    DeliveryGuarantee,
    DeliveryMode,
    OverlapPolicy,
    ScheduleKind,
    SessionTarget,
    TriggerOn,
)

# Scheduling state columns: shown by ``jobs get``, accepted back as input and ignored (never user-set).
STATE_FIELDS = frozenset({
    "next_run_at", "last_run_at", "last_status", "consecutive_errors", "queued_count", "created_at",
    "updated_at", "watchdog_started_at", "paused_at", "paused_by", "paused_reason", "paused_until",
    "deleted_at", "status",  # OpenClaw's ``cron list --json`` status (disabled, running, ok, ...): derived, never set
})
INPUT_ONLY = frozenset({"run_now"})
SCHEDULE_FIELDS = ("schedule_cron", "schedule_at", "schedule_every_ms")


class JobSpec(GovernanceFields):
    """A job as the user describes it: the user-settable columns of ``Job``, same names and defaults.

    The peer's v0.2 fields (``GovernanceFields``) are kept in one ``governance`` column (``columns``)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_enum_values=True, validate_default=True, title="Job"
    )

    id: Id = Field(default=None, description="Optional user-given id (default: a generated uuid4 hex)")
    name: Name
    description: S100K = None
    enabled: Bool = True
    schedule_kind: ScheduleKind = ScheduleKind.CRON
    schedule_cron: S128 = Field(default=None, description="5 fields, 6 with seconds first, or @daily etc.")
    schedule_at: Instant = Field(default=None, description="ISO-8601; without an offset: in schedule_tz")
    schedule_every_ms: Annotated[Int | None, Field(ge=100)] = None
    schedule_anchor: Instant = None
    schedule_tz: Tz = "UTC"
    stagger_ms: Annotated[Int, Field(ge=0)] = 0
    session_target: SessionTarget = SessionTarget.ISOLATED
    session_id: S256 = None
    agent_id: Annotated[str, Field(max_length=128), BeforeValidator(required_text)] = "main"
    payload_kind: Literal["agentTurn", "systemEvent", "shellCommand"] = "agentTurn"
    payload_message: Message
    payload_model: S256 = None
    payload_thinking: S64 = None
    payload_timeout_seconds: Annotated[Int | None, Field(ge=1)] = None
    wake_mode: Literal["now", "next-heartbeat"] = "now"
    execution_intent: Literal["execute", "plan"] = "execute"
    execution_read_only: Bool = False
    env: Annotated[dict[str, str] | None, BeforeValidator(environment)] = None
    cwd: S1024 = None
    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    run_timeout_ms: Annotated[Int, Field(ge=1)] = 300_000
    max_queued_dispatches: Annotated[Int, Field(ge=1)] = 25
    max_pending_approvals: Annotated[Int, Field(ge=1)] = 10
    max_trigger_fanout: Annotated[Int, Field(ge=1)] = 25
    output_store_limit_bytes: Annotated[Int, Field(ge=128)] = 65536
    output_excerpt_limit_bytes: Annotated[Int, Field(ge=64)] = 2000
    output_summary_limit_bytes: Annotated[Int, Field(ge=64)] = 5000
    output_offload_threshold_bytes: Annotated[Int, Field(ge=128)] = 65536
    max_retries: Annotated[Int, Field(ge=0)] = 0
    resource_pool: S128 = Field(default=None, description="A pool shared with other jobs; also "
                                "{\"name\": \"gpu\", \"slots\": 2}")
    pool_slots: Annotated[Int | None, Field(ge=1, le=10_000)] = Field(
        default=None, description="How many runs of the pool's jobs may run at once (default 1; the "
        "smallest value any job of the pool gives wins)")
    concurrency_key: S128 = Field(default=None, description="Limit runs per key to concurrency_limit at once: "
                                  "'job' (this job), 'agent' (jobs of the same agent_id with this key), or any "
                                  "text shared by the jobs that share the limit")
    concurrency_limit: Annotated[Int | None, Field(ge=1, le=10_000)] = Field(
        default=None, description="Runs per concurrency_key value at once (default 1; the smallest wins)")
    queue: Annotated[Annotated[str, Field(max_length=64, pattern=QUEUE_PATTERN)] | None,
                     BeforeValidator(optional_text)] = Field(
        default=None, description="the Celery queue of the job's runs instead of its target's (shell or agent); "
        "workers started with clawsched worker -Q <queue> run them (docs/fleet.md)")
    auth_profile: S256 = None
    delivery_guarantee: DeliveryGuarantee = DeliveryGuarantee.AT_MOST_ONCE
    catchup: Catchup = Field(default=Catchup.LATEST, description=(
        "Fires missed while the scheduler was down or behind: 'latest' runs the most recent one (the default), "
        "'all' replays each in order at a bounded rate, 'none' runs none; the others are recorded as missed runs"))
    catchup_window_s: Annotated[Int | None, Field(ge=1)] = Field(default=None, description=(
        "A fire older than this when the beat reaches it is recorded missed, not run (default: no limit; "
        "with catchup 'none': 60)"))
    starting_deadline_s: Annotated[Int | None, Field(ge=1)] = Field(default=None, description=(
        "A scheduled fire that cannot start within this many seconds of its due instant is recorded missed, "
        "not started late (checked by the beat and again by the worker)"))
    schedule_to_start_s: Annotated[Int | None, Field(ge=1)] = Field(default=None, description=(
        "A run (of any trigger) not started this many seconds after it was created ends missed"))
    #: openclaw-scheduler's default: a failed run reaches ``delivery_to`` (nothing is sent without a target)
    delivery_mode: DeliveryMode = DeliveryMode.ANNOUNCE
    delivery_channel: S64 = None
    delivery_to: S1024 = None
    delivery_secret: S256 = None
    delivery_opt_out_reason: S512 = None
    failure_alert: dict[str, Any] | None = None
    budget: dict[str, int] | None = Field(default=None, description=(
        "{tokens_per_day, runs_per_hour}: a run past either is recorded skipped with the reason, and alerted "
        "once per window (UTC days and hours)"))
    origin: S256 = None
    delete_after_run: Bool = False
    ttl_hours: Annotated[Int | None, Field(ge=1, le=876_000)] = None  # 100 years: an expiry is a date
    parent_id: Annotated[Annotated[str, Field(max_length=64, pattern=ID_PATTERN)] | None,
                         BeforeValidator(optional_text)] = None
    trigger_on: TriggerOn | None = None
    trigger_delay_s: Annotated[Int, Field(ge=0)] = 0
    trigger_condition: S1024 = Field(default=None, description="contains:<text> or regex:<python regex>")
    payload_scope: Literal["own", "global"] = Field(default="own", description="Kept; not acted on yet")
    job_class: Literal["standard", "pre_compaction_flush"] = Field(default="standard",
                                                                   description="Kept; not acted on yet")
    approval_required: Bool = False
    approval_timeout_s: Annotated[Int, Field(ge=1)] = 3600
    approval_auto: Literal["approve", "reject"] = "reject"
    context_retrieval: ContextRetrieval = ContextRetrieval.NONE
    context_retrieval_limit: Annotated[Int, Field(ge=1)] = 5
    preferred_session_key: S512 = None
    job_type: Literal["standard", "watchdog"] = "standard"
    watchdog_target_label: S256 = None
    watchdog_check_cmd: S4096 = None
    watchdog_timeout_min: Annotated[Int | None, Field(ge=1)] = None
    watchdog_alert_channel: S64 = None
    watchdog_alert_target: S256 = None
    watchdog_self_destruct: Bool = True
    run_now: Bool = Field(default=False, description="Input only: fire once as soon as the job is saved")

    def columns(self) -> dict[str, Any]:
        """Values for ``Job(**columns)`` or an UPDATE: input-only fields dropped, ``id`` only if given."""
        values = pack(self.model_dump(exclude=set(INPUT_ONLY)))
        if values["id"] is None:
            del values["id"]
        return values

    @property
    def is_child(self) -> bool:
        return self.parent_id is not None


FIELDS = tuple(JobSpec.model_fields)


def allowed_values(field: str) -> list[str]:
    """The enum or literal values a field accepts, read from its annotation (one source of truth)."""
    annotation = JobSpec.model_fields[field].annotation
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, str) and hasattr(arg, "__members__"):
            return [member.value for member in arg.__members__.values()]
        if args := get_args(arg):
            if all(isinstance(a, str) for a in args):
                return list(args)
    return []
