"""The one exception root of clawsched and its subtrees.

The CLI and the HTTP API map these to exit codes and statuses in one place each; every message names the
object and, where there is one, the field and what would be accepted instead.
"""

from __future__ import annotations


class ClawschedError(Exception):
    """Base of every error clawsched raises on purpose."""

    exit_code = 1
    http_status = 500


class SpecError(ClawschedError, ValueError):
    """Input that does not describe a valid job, message, alias, ...; nothing was written."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str, *, field: str | None = None, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or ([{"field": field, "message": message}] if field else [])


class NotFound(ClawschedError, LookupError):
    exit_code = 3
    http_status = 404


class Conflict(ClawschedError):
    """The object is not in a state that allows the request (already finished, already resolved, ...)."""

    exit_code = 4
    http_status = 409


class RunOverlap(Conflict):
    """A run may not start: another run of its job is running and the job's overlap_policy is skip or queue."""


class PoolBusy(Conflict):
    """A run may not start: the slots of its resource pool or concurrency key are taken, or older runs
    wait for them. ``group`` names which (``resource_pool 'gpu'``)."""

    def __init__(self, group: str, *, slots: int, busy: int, holders: list[str], ahead: int) -> None:
        held = f"{busy} of {slots} slot{'s' if slots != 1 else ''} taken" + (
            f" (run {', '.join(holders)})" if holders else "")
        queue = f"; {ahead} older run{'s' if ahead != 1 else ''} waiting" if ahead else ""
        super().__init__(f"{group} busy: {held}{queue}")
        self.group, self.slots, self.busy, self.holders, self.ahead = group, slots, busy, holders, ahead


class GatewayError(ClawschedError):
    """The OpenClaw gateway refused or failed a call."""

    exit_code = 5
    http_status = 502


class TransientGatewayError(GatewayError):
    """A gateway failure worth retrying: connection refused, timeout, 502/503/504, ``api_error``."""


class UnavailableError(ClawschedError):
    """A service clawsched needs (database, Redis, gateway) cannot be reached."""

    exit_code = 6
    http_status = 503


class AmbiguousId(SpecError):
    """An id prefix that matches more than one object; ``candidates`` lists them (id and a label)."""

    http_status = 409

    def __init__(self, message: str, *, candidates: list[dict[str, str]]):
        super().__init__(message, field="id")
        self.candidates = candidates
