"""Runs published from a recorded ``send_task`` message are the messages ``send_task`` publishes, and a
real worker runs them. Real Redis, real databases, a real Celery worker; nothing of ours is stubbed."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from celery import signals
from sqlalchemy import update

from clawsched.beat.publishing import NAME_MAX, send_runs
from clawsched.sched import jobs, runs
from clawsched.sched.store import claims
from clawsched.sched.store.claims import Claimed
from clawsched.sched.store.models import Job, new_id, utcnow
from clawsched.sched.tasknames import RUN as RUN_TASK
from clawsched.workers.app import create_app
from tests.conftest import running_worker
from tests.support.waiting import wait_for


def queued_messages(redis: Any, app: Any) -> list[str]:
    """Every message in the app's shell run queue, oldest first (kombu LPUSHes and workers BRPOP)."""
    settings = app.clawsched_settings
    return [m.decode() for m in reversed(redis.lrange(f"{settings.namespace}:{settings.run_queue('shell')}", 0, -1))]


def without_ids(raw: str) -> str:
    """The raw message with its task id and delivery tag (fresh uuids per message) blanked out."""
    message = json.loads(raw)
    return raw.replace(message["headers"]["id"], "TASK-ID").replace(message["properties"]["delivery_tag"], "TAG")


IMPORTED_IDS = ["job-7/run 3", "ünïcode-id", "x" * 1500, "42"]  # ids from other systems are kept unchanged
NAMES = ["nightly backup", "ünïcode job", "y" * 300, ""]  # a long name is cut; a nameless run shows its id only


def expected_argsrepr(app: Any, run: Claimed) -> str:
    """The run id as Celery's saferepr shows arguments, then the job's name (cut to NAME_MAX with an ellipsis)."""
    from celery.utils.saferepr import saferepr

    shown = saferepr([run.run_id], app.amqp.argsrepr_maxsize, maxlevels=app.conf.task_repr_maxlevels)
    name = run.job_name if len(run.job_name) <= NAME_MAX else run.job_name[:NAME_MAX - 1] + "…"
    return f"{shown} {name}" if name else shown


@pytest.mark.parametrize(("post_run", "kind"), [("inline", "ours"), ("callback", "ours"), ("inline", "imported")])
def test_prebuilt_messages_are_byte_identical_to_send_task(settings, redis, post_run, kind):
    app = create_app(replace(settings, post_run=post_run))
    run_ids = [new_id() for _ in range(4)] if kind == "ours" else IMPORTED_IDS
    claimed = [Claimed(run_id, name) for run_id, name in zip(run_ids, NAMES, strict=True)]
    link = None
    if post_run == "callback":
        link = app.signature("clawsched.finished", queue=settings.queue, immutable=False)
    for run in claimed:  # what Celery itself publishes, one send_task per run, told the argsrepr
        app.send_task(RUN_TASK, args=[run.run_id], queue=settings.run_queue("shell"), link=link,
                      argsrepr=expected_argsrepr(app, run))
    assert send_runs(app, claimed) == len(run_ids) - 1  # the first through send_task, the rest prebuilt

    messages = queued_messages(redis, app)
    by_celery, by_us = messages[:4], messages[4:]
    for ours, celerys, run in zip(by_us, by_celery, claimed, strict=True):
        assert without_ids(ours) == without_ids(celerys)  # same bytes: headers, properties, routing, body
        message = json.loads(ours)
        headers, props = message["headers"], message["properties"]
        assert headers["id"] == headers["root_id"] == props["correlation_id"]
        assert headers["argsrepr"] == expected_argsrepr(app, run)
        assert run.job_name[:NAME_MAX - 1] in headers["argsrepr"]
        args, kwargs, embed = json.loads(base64.b64decode(message["body"]))
        assert (args, kwargs) == ([run.run_id], {})
        assert bool(embed["callbacks"]) == (post_run == "callback")
    assert len({json.loads(m)["headers"]["id"] for m in messages}) == len(messages)


def test_a_publish_signal_listener_gets_every_message_through_send_task(app, redis):
    seen: list[str] = []

    def listener(sender: Any = None, headers: Any = None, **_: Any) -> None:
        seen.append(headers["id"])

    signals.before_task_publish.connect(listener, weak=False)
    try:
        assert send_runs(app, [Claimed(new_id(), "j") for _ in range(3)]) == 0
    finally:
        signals.before_task_publish.disconnect(listener)
    assert seen == [json.loads(m)["headers"]["id"] for m in queued_messages(redis, app)]


def due_shell_jobs(store: Any, count: int) -> list[str]:
    ids = [jobs.create(store, {"name": f"p{i}", "session_target": "shell", "payload_message": "echo ran",
                               "run_timeout_ms": 10_000, "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *"}).id
           for i in range(count)]
    with store.session() as s:
        s.execute(update(Job).where(Job.id.in_(ids)).values(next_run_at=utcnow() - timedelta(seconds=1)))
    return ids


def finalized(store: Any, run_ids: list[str]) -> list[Any]:
    """The runs once every one has been through the post-run pipeline (inline, or the link callback)."""
    found = [runs.get(store, i) for i in run_ids]
    return found if all(r.finalized_at for r in found) else []


@pytest.mark.parametrize("post_run", ["inline", "callback"])
def test_a_real_worker_runs_prebuilt_messages(settings, store, redis, post_run):
    app = create_app(replace(settings, post_run=post_run))
    due_shell_jobs(store, 6)
    claimed = claims.claim_due_fires(store, utcnow())
    run_ids = [c.run_id for c in claimed]
    assert len(run_ids) == 6
    with running_worker(app):
        assert send_runs(app, claimed) == 5
        done = wait_for(lambda: finalized(store, run_ids), timeout=30, what="six finalized runs")
    assert [r.status for r in done] == ["ok"] * 6
    assert all(r.shell_stdout.strip() == "ran" for r in done)


def test_runs_sent_from_inside_a_task_keep_its_lineage(app, redis):
    """Maintenance re-sends runs from a worker task: Celery then sets parent and root; so must the template."""
    from celery.contrib.testing.worker import start_worker

    claimed = [Claimed(new_id(), f"job {i}") for i in range(3)]
    outer_queue = f"{app.clawsched_settings.queue}-outer"  # the worker must not consume the runs it sends

    prebuilt: list[int] = []

    @app.task(name="tests.resend", bind=True, shared=False)
    def resend(self: Any) -> None:
        prebuilt.append(send_runs(self.app, claimed))

    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                      queues=[outer_queue], shutdown_timeout=20):
        outer = resend.apply_async(queue=outer_queue, root_id="root-of-all")
        messages = wait_for(lambda: len(m := queued_messages(redis, app)) >= 3 and m, timeout=15, what="3 runs")
    headers = [json.loads(m)["headers"] for m in messages]
    assert prebuilt == [2]
    assert [h["argsrepr"] for h in headers] == [f"{[c.run_id]!r} {c.job_name}" for c in claimed]
    assert {(h["parent_id"], h["root_id"]) for h in headers} == {(outer.id, "root-of-all")}
