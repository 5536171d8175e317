"""Issue 19, D8: numbers and instants past what the store and a datetime can hold are refused naming the
field and the limit (they used to end in a traceback, or a 500 from ``POST /v1/jobs``)."""

from __future__ import annotations

import pytest

from clawsched.sched.errors import SpecError
from clawsched.sched.specs import parse_job

BASE = {"name": "bounds", "session_target": "shell", "payload_message": "true", "run_timeout_ms": 1000,
        "schedule_cron": "0 0 1 1 *"}
AT = {"schedule_kind": "at", "schedule_cron": None}


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"run_timeout_ms": 2**31}, "run_timeout_ms", "<= 2147483647"),
    ({"max_retries": 10**12}, "max_retries", "<= 2147483647"),
    ({"trigger_delay_s": 10**15}, "trigger_delay_s", "<= 2147483647"),
    ({"stagger_ms": 10**15}, "stagger_ms", "<= 2147483647"),
    ({"schedule_kind": "every", "schedule_every_ms": 9 * 10**18, "schedule_cron": None}, "schedule_every_ms",
     "<= 2147483647"),
    ({"ttl_hours": 900_000}, "ttl_hours", "<= 876000"),
    ({**AT, "schedule_at": "9999-12-31T23:59:59-12:00"}, "schedule_at", "out of range"),
    ({**AT, "schedule_at": 1e300}, "schedule_at", "out of range"),
    ({**AT, "schedule_at": "9500-01-01T00:00:00Z"}, "schedule_at", "up to the year 9000"),
])
def test_an_out_of_range_value_is_refused_naming_the_field(fields, field, says):
    spec = {k: v for k, v in {**BASE, **fields}.items() if v is not None}
    with pytest.raises(SpecError) as caught:
        parse_job(spec)
    assert f"{field}: " in str(caught.value) and says in str(caught.value)


def test_the_largest_accepted_values_are_accepted():
    spec = parse_job({**BASE, "run_timeout_ms": 2**31 - 1, "ttl_hours": 876_000})
    assert (spec.run_timeout_ms, spec.ttl_hours) == (2**31 - 1, 876_000)


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"schedule_cron": ""}, "schedule_cron", "requires schedule_cron"),
    ({"schedule_cron": "   ", "schedule_kind": "cron"}, "schedule_cron", "requires schedule_cron"),
    ({"env": {"A": "x\x00y"}}, "env", "NUL"),
    ({"env": {"A=B": "x"}}, "env", "not a variable name"),
    ({"name": "evil\u202etxt.sh"}, "name", "control character"),
])
def test_issue_19_d9_input_that_would_make_a_job_that_never_works_is_refused(fields, field, says):
    """D9: each was accepted, and made a job that never fired, or whose every run failed, or whose name
    reads differently than it is."""
    spec = {**BASE, **fields}
    with pytest.raises(SpecError) as caught:
        parse_job(spec)
    assert f"{field}: " in str(caught.value) and says in str(caught.value)
