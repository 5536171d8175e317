"""The pure workflow rules, without a database: chain matching, trigger context, trees, retry/replay policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS

import pytest

from clawsched.sched import approvals, lineage
from clawsched.sched.rules import attempts, chains, idempotency, schedules


@pytest.mark.parametrize("trigger_on,status,fires", [
    ("success", "ok", True), ("success", "error", False), ("failure", "error", True), ("failure", "timeout", True),
    ("failure", "crashed", True), ("failure", "ok", False), ("complete", "ok", True), ("complete", "crashed", True),
    ("complete", "skipped", False), ("complete", "cancelled", False), ("failure", "rejected", False),
])
def test_trigger_on_matches_final_outcomes(trigger_on, status, fires):
    assert chains.outcome_matches(trigger_on, status) is fires


@pytest.mark.parametrize("condition,text,fires", [
    (None, "anything", True), ("contains:ALERT", "x ALERT y", True), ("contains:ALERT", "x alert y", False),
    ("regex:ERROR.*critical", "ERROR: disk critical", True), ("regex:^ok", "not ok", False),
    ("regex:(bad", "(bad", False), ("other:x", "x", False),
])
def test_conditions(condition, text, fires):
    assert chains.condition_matches(condition, text) is fires


def run_row(**kw):
    base = dict(id="r1", status="error", shell_exit_code=3, shell_signal=None, shell_timed_out=False,
                shell_stdout="o" * 5000, shell_stderr="boom", summary=None, reply=None, error_message="exit code 3",
                retry_count=0, replay_of=None, retry_of=None, triggered_by_run=None, scheduled_for=None)
    base.update(kw)
    return NS(**base)


def test_trigger_context_carries_the_parent_result_cut_to_size():
    ctx = chains.trigger_context(NS(id="j", name="Build"), run_row())
    assert ctx["status"] == "error" and ctx["exit_code"] == 3 and ctx["stderr"] == "boom"
    assert len(ctx["stdout"]) == chains.EXCERPT_CHARS and ctx["error"] == "exit code 3"
    assert "signal" not in ctx and ctx["timed_out"] is False and ctx["job_name"] == "Build"
    assert chains.parent_text(run_row(shell_stdout="a", shell_stderr="b")) == "a\nb\nexit code 3"


def test_fanout_and_depth():
    kids = [NS(enabled=True, trigger_on="success", trigger_condition=None) for _ in range(5)]
    kids[1].enabled = False
    assert len(chains.select_children(kids, "ok", "", fanout=3)) == 3
    assert chains.depth_refused(9) is None and "11" in (chains.depth_refused(10) or "")


def test_retry_and_replay_policy():
    job = NS(max_retries=2, delivery_guarantee="at-least-once")
    assert attempts.will_retry(job, run_row(retry_count=1)) and not attempts.will_retry(job, run_row(retry_count=2))
    assert not attempts.will_retry(job, run_row(status="crashed"))  # crashes are replayed, not retried
    assert attempts.will_replay(job, run_row(status="crashed"), 0)
    assert not attempts.will_replay(job, run_row(status="crashed"), attempts.MAX_REPLAYS)
    assert not attempts.will_replay(NS(delivery_guarantee="at-most-once"), run_row(status="crashed"), 0)
    ladder = [schedules.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 12)]
    assert ladder == [30, 60, 120, 240, 3600]


def test_idempotency_keys_are_stable_per_unit_of_work():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert idempotency.key_for("j", run_row(scheduled_for=at)) == idempotency.key_for("j", run_row(id="r2",
                                                                                                      scheduled_for=at))
    assert idempotency.key_for("j", run_row(triggered_by_run="p")) != idempotency.key_for("j", run_row())


def test_approval_timeouts():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    pending = NS(status="pending", expires_at=approvals.expires_at(now, 60))
    assert not approvals.timed_out(pending, now + timedelta(seconds=59))
    assert approvals.timed_out(pending, now + timedelta(seconds=60))
    assert not approvals.timed_out(NS(status="approved", expires_at=now), now)


def test_tree_rendering_matches_the_peer_format():
    def job(i, name, parent=None, trigger_on=None, delay=0, agent="main", target="isolated"):
        return NS(id=i, name=name, parent_id=parent, trigger_on=trigger_on, trigger_delay_s=delay,
                  trigger_condition=None, agent_id=agent, session_target=target, approval_required=False, enabled=True)

    rows = [job("b", "Build App"), job("d", "Deploy App", "b", "success", agent="ops"),
            job("a", "Build Alert", "b", "failure"), job("h", "Health Check", "b", "complete", 60)]
    assert chains.render_forest(chains.job_forest(rows)) == [
        "Build App", "├─ Deploy App [→success] (agent:ops)", "├─ Build Alert [→failure]",
        "└─ Health Check [→complete +60s]"]
    assert lineage.origin(run_row(retry_of="x")) == ("retry", "x") and lineage.origin(run_row()) is None
