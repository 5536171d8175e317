"""One validated job spec, accepted in two shapes and normalised to one canonical form.

Users arrive with openclaw-scheduler's flat JSON (``schedule_cron``, ``session_target``, ``payload_message``)
or with OpenClaw's cron-tool JSON (``schedule: {kind, expr, tz}``, ``payload: {kind, message}``,
``sessionTarget``, ``delivery``). Both are translated to the flat column names of ``Job``, normalised
(``session:<id>`` split, timestamps made aware UTC, kinds derived), and validated as a whole. Every problem
is collected so the CLI and the API can list them all at once; nothing half-valid leaves this package.

The package has one module per step: ``fields`` (strict field types), ``model`` (``JobSpec``),
``openclaw`` (the cron-tool dialect), ``normalise``, ``rules`` (cross-field checks), ``problems`` (the
collected errors), ``parse`` and ``patches`` (the entry points) and ``schema`` (JSON schema, field hints).
It imports pydantic, so read-only paths such as ``clawsched jobs list`` import it lazily, only to write.
"""

from __future__ import annotations

from clawsched.sched.specs.model import FIELDS, INPUT_ONLY, SCHEDULE_FIELDS, STATE_FIELDS, JobSpec
from clawsched.sched.specs.normalise import NEVER_CRON
from clawsched.sched.specs.openclaw import OPENCLAW_AGENT_BUDGET_MS, OPENCLAW_FIELDS
from clawsched.sched.specs.parse import parse_job, spec_from_row
from clawsched.sched.specs.patches import apply_patch
from clawsched.sched.specs.schema import job_json_schema, suggest_field

__all__ = [
    "FIELDS",
    "INPUT_ONLY",
    "NEVER_CRON",
    "OPENCLAW_AGENT_BUDGET_MS",
    "OPENCLAW_FIELDS",
    "SCHEDULE_FIELDS",
    "STATE_FIELDS",
    "JobSpec",
    "apply_patch",
    "job_json_schema",
    "parse_job",
    "spec_from_row",
    "suggest_field",
]
