"""The deliveries ledger for sends that belong to no run (dispatch summaries, watchdog alerts)."""

from __future__ import annotations

from clawsched.sched import jobs
from clawsched.sched.store import deliveries
from clawsched.sched.store.models import Delivery, utcnow


def test_a_delivery_of_no_run_is_claimed_once_and_leaves_one_row(store):
    first = deliveries.claim(store, None, "dispatch", "telegram:1", now=utcnow())
    assert first is not None and first.status == "sending"
    assert deliveries.claim(store, None, "dispatch", "telegram:1", now=utcnow()) is None
    assert deliveries.claim(store, None, "dispatch", "telegram:1", now=utcnow()) is None
    with store.read() as s:
        rows = s.query(Delivery).filter(Delivery.kind == "dispatch").all()
    assert [(r.id, r.status) for r in rows] == [(first.id, "sending")]
    other = deliveries.claim(store, None, "dispatch", "telegram:2", now=utcnow())
    assert other is not None and other.id != first.id


def test_recent_statuses_without_an_upper_bound_lists_every_finished_run(store):
    job = jobs.create(store, {"name": "n", "session_target": "shell", "payload_message": "true",
                              "run_timeout_ms": 5000, "schedule_cron": "0 0 1 1 *"})
    assert deliveries.recent_statuses(store, job.id, None) == []
