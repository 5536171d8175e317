"""The idempotency key of a unit of work: one derivation for the prompt, the run row and the replay.

A scheduled fire is keyed by its instant, a chain child by its parent run, a retry by the attempt it
retries; a crash replay carries its original's key (the replay step copies it), so an agent told the
key can answer ``IDEMPOTENT_SKIP`` for work it already did.
"""

from __future__ import annotations

import hashlib
from typing import Any


def key_for(job_id: str, run: Any) -> str:
    if run.scheduled_for is not None:
        raw = f"{job_id}:{run.scheduled_for.isoformat()}"
    elif run.triggered_by_run:
        raw = f"chain:{run.triggered_by_run}:{job_id}"
    elif run.retry_of:
        raw = f"retry:{run.retry_of}:{job_id}"
    else:
        raw = f"run:{run.id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
