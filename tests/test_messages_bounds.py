"""Issue 19, D8 and D9 (messages): a sender past its column, a body with control characters or a TTL that
overflows a date are refused naming the field, and nothing is written."""

from __future__ import annotations

import pytest

from clawsched.sched import messages
from clawsched.sched.errors import SpecError


@pytest.mark.parametrize(("args", "options", "field"), [
    (("x" * 10_000, "ops", "hello"), {}, "from_agent"),
    (("ops", "x" * 129, "hello"), {}, "to_agent"),
    (("ops", "main", "bell\x07 and escape \x1b[2J"), {}, "body"),
    (("ops", "main", "fine"), {"subject": "evil\u202etxt"}, "subject"),
    (("ops", "main", "fine"), {"ttl_s": 1e300}, "ttl"),
])
def test_a_message_that_cannot_be_stored_or_shown_safely_is_refused(store, args, options, field):
    with pytest.raises(SpecError) as caught:
        messages.send(store, *args, **options)
    assert caught.value.field == field
    assert messages.inbox(store, "main") == [] and messages.inbox(store, "ops") == []


def test_tabs_and_newlines_are_kept(store):
    sent = messages.send(store, "ops", "main", "line one\n\tindented")
    assert messages.get(store, sent.id).body == "line one\n\tindented"
