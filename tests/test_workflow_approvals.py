"""Approval gates end to end: a gated child waits, approve starts it at once, reject and timeouts resolve it."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from clawsched.sched import approvals, jobs, runs
from clawsched.sched.coordination.wake import notify
from tests.support.waiting import wait_for


def cli(settings: Any, *args: str) -> Any:
    import clawsched.cli.workflow_cmd  # noqa: F401 - registers the workflow commands
    from clawsched.cli.context import CliContext
    from clawsched.cli.main import cli as group

    return CliRunner().invoke(group, list(args), obj=CliContext(settings), catch_exceptions=False)


def gated(parent_id: str, name: str, **fields: Any) -> dict[str, Any]:
    spec = {"name": name, "session_target": "shell", "payload_message": f"echo {name} ran", "run_timeout_ms": 10_000,
            "parent_id": parent_id, "trigger_on": "success", "approval_required": True}
    spec.update(fields)
    return spec


def only_run(store: Any, job_id: str) -> Any:
    found = runs.for_job(store, job_id)
    return found[0] if len(found) == 1 else None


def test_approval_gates_wait_and_resolve(store, redis, worker, beat, settings):
    parent = jobs.create(store, {"name": "build", "session_target": "shell", "payload_message": "echo built",
                                 "run_timeout_ms": 10_000, "schedule_cron": "0 0 1 1 *"})
    by_hand = jobs.create(store, gated(parent.id, "deploy"))
    refused = jobs.create(store, gated(parent.id, "drop-db"))
    auto_yes = jobs.create(store, gated(parent.id, "rotate", approval_timeout_s=1, approval_auto="approve"))
    auto_no = jobs.create(store, gated(parent.id, "purge", approval_timeout_s=1, approval_auto="reject"))
    jobs.run_now(store, parent.id)
    notify(redis, settings, "test")

    waiting = wait_for(lambda: (r := only_run(store, by_hand.id)) and r.status == "awaiting_approval" and r,
                       timeout=15, what="the gated child to wait")
    wait_for(lambda: (r := only_run(store, refused.id)) and r.status == "awaiting_approval", timeout=5)
    listed = json.loads(cli(settings, "approvals", "list", "--json").output)
    assert {a["job_id"] for a in listed} >= {by_hand.id, refused.id}
    assert runs.get(store, waiting.id).started_at is None

    approve_and_see_it_start_at_once(store, settings, by_hand.id, waiting.id)
    reject_and_see_it_resolved(store, settings, refused.id)
    see_the_timeouts_resolve(store, settings, auto_yes.id, auto_no.id)


def approve_and_see_it_start_at_once(store: Any, settings: Any, job_id: str, run_id: str) -> None:
    out = json.loads(cli(settings, "jobs", "approve", job_id, "--by", "alice", "looks", "good", "--json").output)
    decided = approvals.get(store, out["approval"]["id"])
    assert decided.status == "approved" and decided.resolved_by == "alice" and decided.reason == "looks good"
    started = wait_for(lambda: (r := runs.get(store, run_id)).started_at and r, timeout=5)
    latency = (started.started_at - decided.resolved_at).total_seconds()
    assert latency < 1.0, latency  # the approve service wakes the beat; nothing polls
    print(f"\napproval -> run started in {latency:.3f}s")
    done = wait_for(lambda: (r := runs.get(store, run_id)).status == "ok" and r, timeout=10)
    assert done.shell_stdout.strip() == "deploy ran" and done.triggered_by_run


def reject_and_see_it_resolved(store: Any, settings: Any, job_id: str) -> None:
    out = json.loads(cli(settings, "jobs", "reject", job_id, "too", "risky", "--by", "bob", "--json").output)
    assert out["approval"]["status"] == "rejected" and out["approval"]["reason"] == "too risky"
    gone = only_run(store, job_id)
    assert gone.status == "rejected" and "too risky" in gone.error_message and gone.started_at is None
    assert approvals.list_approvals(store, job_id=job_id) == []  # nothing left pending
    again = cli(settings, "jobs", "reject", job_id, "--json")
    assert again.exit_code == 4 and "no pending approval" in json.loads(again.output)["error"]["message"]


def see_the_timeouts_resolve(store: Any, settings: Any, auto_yes: str, auto_no: str) -> None:
    """approval_auto decides when approval_timeout_s passes: approve runs the child, reject records it."""
    yes = wait_for(lambda: (r := only_run(store, auto_yes)) and r.status == "ok" and r, timeout=15,
                   what="the auto-approved child to run")
    no = wait_for(lambda: (r := only_run(store, auto_no)) and r.status == "rejected" and r, timeout=15)
    [yes_approval] = approvals.list_approvals(store, status=None, job_id=auto_yes)
    [no_approval] = approvals.list_approvals(store, status=None, job_id=auto_no)
    assert yes_approval.status == "approved" and yes_approval.resolved_by == "timeout"
    assert no_approval.status == "expired" and no_approval.resolved_by == "timeout"
    assert no.started_at is None and "approval_auto=reject" in no.error_message
    assert yes.shell_stdout.strip() == "rotate ran"
    shown = json.loads(cli(settings, "approvals", "get", no_approval.id, "--json").output)
    assert shown["run_id"] == no.id and shown["resolved_at"]


def test_approval_backlog_is_capped(store, app, settings):
    """Beyond max_pending_approvals, a triggered child is recorded as skipped with the reason."""
    from clawsched.sched.store.models import Run, utcnow
    from clawsched.workers.post_run import pipeline
    from clawsched.workers.tasks import runtime_of

    parent = jobs.create(store, {"name": "p", "session_target": "shell", "payload_message": "true",
                                 "run_timeout_ms": 1000, "schedule_cron": "0 0 1 1 *"})
    kid = jobs.create(store, gated(parent.id, "k", max_pending_approvals=2))
    rt = runtime_of(app)
    for i in range(3):
        with store.session() as s:
            s.add(Run(id=f"p{i}", job_id=parent.id, status="ok", trigger="manual", created_at=utcnow(),
                      finished_at=utcnow()))
        pipeline.process(rt, f"p{i}", now=utcnow())
    statuses = sorted(r.status for r in runs.for_job(store, kid.id))
    assert statuses == ["awaiting_approval", "awaiting_approval", "skipped"]
    assert len(approvals.list_approvals(store, job_id=kid.id)) == 2
