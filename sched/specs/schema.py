"""What a job may contain, for programs and for messages: the JSON schema and the nearest field name."""

from __future__ import annotations

import difflib
from typing import Any

from clawsched.sched.specs.model import FIELDS, JobSpec
from clawsched.sched.specs.openclaw import OPENCLAW_FIELDS


def job_json_schema() -> dict[str, Any]:
    """JSON schema of the flat form (types, defaults, enums, limits) for ``clawsched schema jobs``."""
    schema = JobSpec.model_json_schema(mode="validation")
    schema["description"] = (
        "A clawsched job in flat form (openclaw-scheduler's field names). OpenClaw cron-tool JSON "
        "(schedule/payload/delivery objects, camelCase keys) is also accepted and normalised to this."
    )
    return schema


def suggest_field(name: str) -> str | None:
    """The known field closest to a misspelt one (flat or OpenClaw), for messages outside this package."""
    close = difflib.get_close_matches(name, [*FIELDS, *OPENCLAW_FIELDS], n=1, cutoff=0.6)
    return close[0] if close else None
