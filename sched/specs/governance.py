"""openclaw-scheduler's v0.2 identity, trust, authorization, evidence and contract fields, kept as written.

The peer declares who a job acts as and what it may do (schema v22/v23). clawsched does not act on these
fields: it validates them as the peer does (the same enums, JSON blobs that must parse, up to 32 KB), stores
them in the job's one ``governance`` column and shows them, so a job moved from the peer loses nothing and a
tool that reads them still finds them. ``docs/migration.md`` says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from clawsched.sched.specs.fields import S128, S256, S512, optional_text

_JSON_LIMIT = 32_768
TrustLevel = Literal["untrusted", "restricted", "supervised", "autonomous"]


def _json_blob(value: Any) -> Any:
    """A JSON document as a string (the peer's column); an object or list is accepted and written as JSON."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    if not isinstance(optional_text(value), str) or not value.strip():
        return None
    if len(value.encode()) > _JSON_LIMIT:
        raise ValueError(f"is longer than {_JSON_LIMIT} bytes")
    try:
        json.loads(value)
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc.args[0]})") from None
    return value


def _cost(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError("must be a finite number >= 0 (US dollars)")
    return float(value)


Blob = Annotated[str | None, BeforeValidator(_json_blob)]


class GovernanceFields(BaseModel):
    """The peer's v0.2 fields, each optional; stored together, never acted on by clawsched."""

    identity_principal: S512 = None
    identity_run_as: S256 = None
    identity_attestation: S256 = None
    identity_ref: S256 = None
    identity_subject_kind: Literal["agent", "service", "workload", "user", "composite", "delegated-agent",
                                   "unknown"] | None = None
    identity_subject_principal: S512 = None
    identity_trust_level: TrustLevel | None = None
    identity_delegation_mode: Literal["none", "on-behalf-of", "impersonation"] | None = None
    identity: Blob = None
    authorization_proof_ref: S256 = None
    authorization_proof: Blob = None
    authorization_ref: S256 = None
    authorization: Blob = None
    evidence_ref: S256 = None
    evidence: Blob = None
    contract_required_trust_level: TrustLevel | None = None
    contract_trust_enforcement: Literal["none", "warn", "block", "advisory", "strict"] | None = None
    contract_sandbox: S128 = None
    contract_allowed_paths: Blob = None
    contract_network: S128 = None
    contract_max_cost_usd: Annotated[float | None, BeforeValidator(_cost), Field(
        description="Kept, not enforced")] = None
    contract_audit: S128 = None
    child_credential_policy: Literal["none", "inherit", "downscope", "independent"] | None = None


GOVERNANCE_FIELDS = tuple(GovernanceFields.model_fields)


def pack(values: dict[str, Any]) -> dict[str, Any]:
    """The v0.2 fields of a column dict moved into ``governance`` (None when none is set)."""
    kept = {f: values.pop(f) for f in GOVERNANCE_FIELDS if f in values}
    values["governance"] = {k: v for k, v in kept.items() if v is not None} or None
    return values


def unpack(flat: dict[str, Any]) -> dict[str, Any]:
    """``governance`` (as ``jobs get`` shows it, or a stored row) spread back into its fields; a field also
    given at the top level wins."""
    stored = flat.pop("governance", None)
    if isinstance(stored, Mapping):
        for key, value in stored.items():
            flat.setdefault(str(key), value)
    return flat
