"""The enumerations that appear in rows and specs: one definition each, shared by every edge."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    CRASHED = "crashed"
    #: The effect may have happened but was not confirmed: the gateway disconnected mid-turn, or no answer
    #: came within the budget after the request was sent. Never retried blindly (see ``MAY_HAVE_RUN``).
    UNCONFIRMED = "unconfirmed"
    SKIPPED = "skipped"
    #: A fire that was due and did not run (the scheduler was down, outside ``catchup_window_s``, past its
    #: deadline, coalesced into a later fire, or not started within ``schedule_to_start_s``); the reason is
    #: in ``skip_reason``, as ``<MissedReason>: <detail>``.
    MISSED = "missed"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def failed(self) -> bool:
        """What a ``trigger_on: failure`` child and the retry policy count as failure."""
        return self in FAILED


TERMINAL = frozenset(
    {RunStatus.OK, RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.CANCELLED, RunStatus.CRASHED,
     RunStatus.SKIPPED, RunStatus.REJECTED, RunStatus.UNCONFIRMED, RunStatus.MISSED}
)
FAILED = frozenset({RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.CRASHED, RunStatus.UNCONFIRMED})
#: Failures whose work may have been done: the retry ladder never repeats them; only an ``at-least-once``
#: job, whose prompt carries the idempotency key, replays them.
MAY_HAVE_RUN = frozenset({RunStatus.CRASHED, RunStatus.UNCONFIRMED})
ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


class Catchup(StrEnum):
    """What the beat does with the fires a job missed (docs/scheduling.md): run the most recent one
    (today's behaviour, the default), replay every one in order at a bounded rate, or none of them."""

    LATEST = "latest"
    ALL = "all"
    NONE = "none"


class MissedReason(StrEnum):
    """Why a fire is recorded ``missed``: the first word of its ``skip_reason``."""

    COALESCED = "coalesced"  # catchup latest: folded into the run of a later fire
    LATE = "late"  # catchup none: the beat reached it after it was due (down or behind)
    OUTSIDE_WINDOW = "outside_window"  # older than catchup_window_s when the beat reached it
    PAST_DEADLINE = "past_deadline"  # could not start within starting_deadline_s of its due instant
    CATCHUP_LIMIT = "catchup_limit"  # beyond the most recent fires catchup all replays
    NOT_STARTED = "not_started"  # not started within schedule_to_start_s of being queued


class Trigger(StrEnum):
    """Why a run exists: the runs table alone answers "what triggered what"."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    CHAIN = "chain"
    RETRY = "retry"
    REPLAY = "replay"
    SPAWN = "spawn"


class ScheduleKind(StrEnum):
    CRON = "cron"
    AT = "at"
    EVERY = "every"
    CHAIN = "chain"  # child jobs: no clock of their own, started by their parent


class SessionTarget(StrEnum):
    SHELL = "shell"
    ISOLATED = "isolated"
    MAIN = "main"
    SESSION = "session"  # "session:<id>": a stable, named session that keeps its history


class OverlapPolicy(StrEnum):
    """What a run does that finds another run of its job running (Temporal's names for the last two)."""

    SKIP = "skip"  # recorded skipped
    ALLOW = "allow"  # runs beside it
    QUEUE = "queue"  # waits for it (bounded by max_queued_dispatches)
    CANCEL_OTHER = "cancel_other"  # cancels it (SIGTERM, then SIGKILL after a grace) and starts once it stopped
    TERMINATE_OTHER = "terminate_other"  # kills it at once (SIGKILL) and starts now

    @property
    def supersedes(self) -> bool:
        return self in (OverlapPolicy.CANCEL_OTHER, OverlapPolicy.TERMINATE_OTHER)


class DeliveryMode(StrEnum):
    NONE = "none"
    ANNOUNCE = "announce"
    ANNOUNCE_ALWAYS = "announce-always"
    WEBHOOK = "webhook"


class DeliveryGuarantee(StrEnum):
    AT_MOST_ONCE = "at-most-once"
    AT_LEAST_ONCE = "at-least-once"


class TriggerOn(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    COMPLETE = "complete"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ContextRetrieval(StrEnum):
    NONE = "none"
    RECENT = "recent"
    HYBRID = "hybrid"
