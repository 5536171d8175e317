"""The lost-message pass (issue 19, D11) checks queued runs against what the broker holds: a run whose
message is gone is sent again seconds after it was sent, in the order the runs were first sent; one still
waiting in its queue behind a backlog is never sent twice; one a worker took and never started is sent
again after ``requeue_after_s``. Real Redis (the broker's own lists and ``unacked`` hash), both databases."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from clawsched.beat.publishing import send_runs
from clawsched.sched import jobs, runs
from clawsched.sched.coordination import broker
from clawsched.sched.store import claims
from clawsched.sched.store.models import RUNS, new_id, utcnow
from clawsched.workers.tasks import runtime_of
from clawsched.workers.upkeep import requeue
from tests.support.waiting import wait_for

SHELL = {"session_target": "shell", "payload_message": "true", "run_timeout_ms": 10_000,
         "schedule_cron": "0 0 1 1 *", "overlap_policy": "allow"}


@pytest.fixture
def lost_app(settings: Any, redis: Any) -> Any:
    from clawsched.workers.app import create_app

    return create_app(settings.with_(lost_grace_s=2.0, requeue_after_s=120.0))


def _queued(store: Any, job_id: str, sent_ago_s: list[float]) -> list[str]:
    """Queued runs of ``job_id``, each sent ``sent_ago_s`` seconds ago; ids in the order given."""
    now, ids = utcnow(), [new_id() for _ in sent_ago_s]
    with store.engine.begin() as conn:
        sent = [now - timedelta(seconds=ago) for ago in sent_ago_s]
        conn.execute(insert(RUNS), [{"id": i, "job_id": job_id, "status": "queued", "trigger": "manual",
                                     "created_at": at, "dispatched_at": at} for i, at in zip(ids, sent, strict=True)])
    return ids


def _waiting(app: Any) -> list[str]:
    """Run ids in the shell queue's list, in the order a worker takes them (kombu pops from the right)."""
    rt = runtime_of(app)
    raw = rt.redis.lrange(broker.queue_keys(rt.settings, rt.settings.run_queue("shell"))[0], 0, -1)
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in reversed(raw)]


def test_runs_whose_messages_are_gone_are_sent_again_in_the_order_they_were_first_sent(lost_app, store):
    job_id = jobs.create(store, {**SHELL, "name": "flushed"}).id
    first, second, third, fresh = _queued(store, job_id, [30, 20, 10, 0.5])  # no message anywhere: a flush
    rt = runtime_of(lost_app)
    assert requeue.requeue_lost(rt, lost_app, utcnow()) == 3
    assert _waiting(lost_app) == [first, second, third], "sent again, oldest first; the fresh one has its grace"
    assert requeue.requeue_lost(rt, lost_app, utcnow()) == 0, "each sent once"
    assert runs.get(store, fresh).dispatched_at < runs.get(store, first).dispatched_at


def test_a_backlog_waiting_in_its_queue_is_never_sent_again(lost_app, store):
    """Under a backlog the old pass re-sent every run queued past 120 s (230 of them) though each message
    was still in its queue."""
    job_id = jobs.create(store, {**SHELL, "name": "backlog"}).id
    ids = _queued(store, job_id, [600.0] * 200)
    send_runs(lost_app, claims.with_job_names(store, ids))
    assert requeue.requeue_lost(runtime_of(lost_app), lost_app, utcnow()) == 0
    assert sorted(_waiting(lost_app)) == sorted(ids)


def test_a_run_a_worker_took_and_never_started_is_sent_again_after_requeue_after_s(lost_app, store):
    job_id = jobs.create(store, {**SHELL, "name": "taken"}).id
    recent, old = _queued(store, job_id, [10, 600])
    rt = runtime_of(lost_app)
    send_runs(lost_app, claims.with_job_names(store, [recent, old]))
    key = broker.queue_keys(rt.settings, rt.settings.run_queue("shell"))[0]
    for n, message in enumerate(rt.redis.lrange(key, 0, -1)):  # what kombu does when a worker takes them
        rt.redis.hset(broker.unacked_key(rt.settings), f"tag-{n}", json.dumps([json.loads(message), "", "shell"]))
    rt.redis.delete(key)
    assert requeue.requeue_lost(rt, lost_app, utcnow()) == 1
    assert _waiting(lost_app) == [old], "only the one taken past requeue_after_s; the other may be running soon"


def test_a_flushed_run_runs_within_seconds(lost_app, store, settings):
    from tests.conftest import running_worker

    job_id = jobs.create(store, {**SHELL, "name": "runs-again"}).id
    [run_id] = _queued(store, job_id, [3])
    with running_worker(lost_app):
        rt = runtime_of(lost_app)
        wait_for(lambda: requeue.requeue_lost(rt, lost_app, utcnow()) == 1
                 or runs.get(store, run_id).status != "queued", timeout=10, what="the pass to send the lost run again")
        done = wait_for(lambda: (r := runs.get(store, run_id)).status == "ok" and r, timeout=10,
                        what="the re-sent run to run")
    assert done.finished_at is not None
