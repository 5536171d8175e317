"""Retries and chains end to end: real Redis, a real Celery worker and beat, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from clawsched.sched import jobs, runs
from clawsched.sched.coordination.wake import notify
from clawsched.sched.errors import SpecError
from clawsched.sched.rules import schedules
from clawsched.sched.store.models import Run, utcnow
from tests.support.waiting import wait_for

RETRY_SCALE = 0.01  # the ladder 30 s, 60 s, 120 s becomes 0.3 s, 0.6 s, 1.2 s


@pytest.fixture
def settings(settings):  # noqa: F811 - narrows the suite's settings for this module
    return settings.with_(retry_scale=RETRY_SCALE)


def root(**fields: Any) -> dict[str, Any]:
    spec = {"name": "root", "session_target": "shell", "payload_message": "echo hi", "run_timeout_ms": 10_000,
            "schedule_kind": "cron", "schedule_cron": "0 0 1 1 *"}
    spec.update(fields)
    return spec


def child(parent_id: str, trigger_on: str = "success", **fields: Any) -> dict[str, Any]:
    spec = {"name": f"on {trigger_on}", "session_target": "shell", "payload_message": "echo child",
            "run_timeout_ms": 10_000, "parent_id": parent_id, "trigger_on": trigger_on}
    spec.update(fields)
    return spec


def all_runs(store: Any, job_id: str) -> list[Run]:
    return sorted(runs.for_job(store, job_id, 100), key=lambda r: (r.retry_count, r.created_at))


def finalized(store: Any, job_id: str, n: int) -> list[Run] | None:
    found = all_runs(store, job_id)
    return found if len(found) >= n and all(r.finalized_at for r in found) else None


def cli(settings: Any, *args: str) -> Any:
    import clawsched.cli.workflow_cmd  # noqa: F401 - registers the workflow commands
    from clawsched.cli.context import CliContext
    from clawsched.cli.main import cli as group

    result = CliRunner().invoke(group, list(args), obj=CliContext(settings), catch_exceptions=False)
    return result


def test_retries_follow_the_ladder_and_children_wait_for_the_final_outcome(store, redis, worker, beat, settings,
                                                                           tmp_path):
    counter = tmp_path / "attempts"
    parent = jobs.create(store, root(
        name="flaky", max_retries=3,
        payload_message=f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; "
                        f"echo attempt $n; [ $n -ge 3 ] || {{ echo failing >&2; exit 7; }}",
    ))
    on_success = jobs.create(store, child(parent.id, "success", payload_message="echo $CLAWSCHED_PARENT_STATUS"))
    on_failure = jobs.create(store, child(parent.id, "failure"))
    first = jobs.run_now(store, parent.id)
    notify(redis, settings, "test")

    attempts = wait_for(lambda: finalized(store, parent.id, 3), timeout=20, what="three finalised attempts")
    fired = wait_for(lambda: finalized(store, on_success.id, 1), timeout=10, what="the success child")

    assert_attempts_follow_the_ladder(attempts, first)
    assert len(fired) == 1 and fired[0].status == "ok"
    assert fired[0].triggered_by_run == attempts[2].id and fired[0].trigger == "chain"
    assert fired[0].shell_stdout.strip() == "ok" and fired[0].chain_depth == 1
    assert runs.for_job(store, on_failure.id) == []  # never fired: the last attempt succeeded
    assert jobs.get(store, parent.id).consecutive_errors == 0
    assert_the_tree_shows_retries_then_the_chain(settings, first, attempts, fired[0])


def assert_attempts_follow_the_ladder(attempts: list[Run], first: str) -> None:
    """Two failures then a success, each retry linked to the one before and started on the retry ladder."""
    assert [r.status for r in attempts] == ["error", "error", "ok"]
    assert attempts[0].id == first and attempts[0].retry_of is None
    assert [r.retry_count for r in attempts] == [0, 1, 2]
    assert attempts[1].retry_of == attempts[0].id and attempts[2].retry_of == attempts[1].id
    assert [r.trigger for r in attempts] == ["manual", "retry", "retry"]
    for before, after in zip(attempts, attempts[1:], strict=False):
        ladder = schedules.retry_delay(after.retry_count, RETRY_SCALE)
        assert after.not_before - before.finished_at == ladder  # the durable not-before follows the ladder
        assert after.started_at >= after.not_before
        assert after.started_at - before.finished_at < ladder + timedelta(seconds=1.5)


def assert_the_tree_shows_retries_then_the_chain(settings: Any, first: str, attempts: list[Run], fired: Run) -> None:
    tree = json.loads(cli(settings, "runs", "tree", attempts[1].id, "--json").output)
    assert tree["root"] == first and tree["ancestors"] == [first]
    top = tree["tree"]
    assert top["id"] == first and top["children"][0]["id"] == attempts[1].id
    assert top["children"][0]["focus"] is True
    third = top["children"][0]["children"][0]
    assert third["id"] == attempts[2].id and third["relation"] == "retry"
    assert third["children"][0]["id"] == fired.id and third["children"][0]["relation"] == "chain"
    text = cli(settings, "runs", "tree", fired.id).output
    assert f"retry #2 flaky run {attempts[2].id} [ok]" in text and "◀" in text


def test_exhausted_retries_fire_the_failure_child_once_with_the_parent_result(store, redis, worker, beat, settings):
    parent = jobs.create(store, root(name="doomed", max_retries=1, payload_message="echo out; echo bad >&2; exit 4"))
    on_failure = jobs.create(store, child(
        parent.id, "failure",
        payload_message='echo "$CLAWSCHED_PARENT_STATUS/$CLAWSCHED_PARENT_EXIT_CODE/$CLAWSCHED_PARENT_STDERR"'))
    on_complete = jobs.create(store, child(parent.id, "complete", trigger_delay_s=1))
    on_success = jobs.create(store, child(parent.id, "success"))
    jobs.run_now(store, parent.id)
    notify(redis, settings, "test")

    attempts = wait_for(lambda: finalized(store, parent.id, 2), timeout=20)
    alert = wait_for(lambda: finalized(store, on_failure.id, 1), timeout=10)
    later = wait_for(lambda: finalized(store, on_complete.id, 1), timeout=10)
    assert [r.status for r in attempts] == ["error", "error"]
    assert len(alert) == 1 and alert[0].shell_stdout.strip() == "error/4/bad"
    assert alert[0].triggered_by_run == attempts[1].id
    assert later[0].not_before - later[0].created_at == timedelta(seconds=1)  # trigger_delay_s
    assert runs.for_job(store, on_success.id) == []
    assert jobs.get(store, parent.id).consecutive_errors == 1  # one final failure, not two


def test_conditions_fire_or_hold_children(store, redis, worker, beat, settings):
    parent = jobs.create(store, root(name="monitor", payload_message="echo 'disk: ALERT critical'; echo 'ok' >&2"))
    expect = {
        "contains:ALERT": True,
        "contains:alert": False,  # case-sensitive
        "regex:ALERT\\s+crit": True,
        "regex:ERROR.*critical": False,
        "regex:^ok$": False,  # re.search without flags: ^ is the start of the whole text
        "regex:(?m)^ok$": True,  # stderr is part of the text, on its own line
    }
    kids = {cond: jobs.create(store, child(parent.id, "success", name=cond, trigger_condition=cond))
            for cond in expect}
    on_failure = jobs.create(store, child(parent.id, "failure", trigger_condition="contains:ALERT"))
    jobs.run_now(store, parent.id)
    notify(redis, settings, "test")
    wait_for(lambda: finalized(store, parent.id, 1), timeout=15)
    wait_for(lambda: all(finalized(store, kids[c].id, 1) for c in expect if expect[c]), timeout=15)
    fired = {cond: bool(runs.for_job(store, kids[cond].id)) for cond in expect}
    assert fired == expect
    assert runs.for_job(store, on_failure.id) == []


def test_invalid_regex_depth_and_cycles_are_refused_when_saved(store):
    parent = jobs.create(store, root())
    with pytest.raises(SpecError, match="trigger_condition"):
        jobs.create(store, child(parent.id, trigger_condition="regex:(unclosed"))
    chain = [parent]
    for i in range(10):
        chain.append(jobs.create(store, child(chain[-1].id, name=f"level {i + 1}")))
    with pytest.raises(SpecError, match="depth"):
        jobs.create(store, child(chain[-1].id, name="level 11"))
    with pytest.raises(SpecError, match="cycle"):
        jobs.update(store, parent.id, {"parent_id": chain[4].id, "trigger_on": "success"})
    with pytest.raises(SpecError, match="cycle"):
        jobs.update(store, chain[2].id, {"parent_id": chain[2].id})


def test_depth_is_enforced_again_when_a_child_fires(store, app, settings):
    """A run already 10 deep (e.g. a chain re-parented under a deeper one) does not start an 11th level."""
    from clawsched.workers.post_run import pipeline
    from clawsched.workers.tasks import runtime_of

    parent = jobs.create(store, root())
    kid = jobs.create(store, child(parent.id))
    with store.session() as s:
        s.add(Run(id="deep", job_id=parent.id, status="ok", trigger="chain", chain_depth=10,
                  created_at=utcnow(), finished_at=utcnow(), shell_stdout="x"))
        s.add(Run(id="shallow", job_id=parent.id, status="ok", trigger="chain", chain_depth=9,
                  created_at=utcnow(), finished_at=utcnow(), shell_stdout="x"))
    rt = runtime_of(app)
    assert pipeline.process(rt, "deep", now=utcnow()) and pipeline.process(rt, "shallow", now=utcnow())
    assert pipeline.process(rt, "deep", now=utcnow())  # a second callback creates nothing twice
    made = {r.triggered_by_run: r for r in runs.for_job(store, kid.id)}
    assert set(made) == {"deep", "shallow"}
    assert made["deep"].status == "skipped" and "depth 11" in made["deep"].skip_reason
    assert made["shallow"].status == "pending" and made["shallow"].chain_depth == 10


def test_jobs_tree_draws_the_hierarchy(store, settings):
    build = jobs.create(store, root(name="Build App"))
    deploy = jobs.create(store, child(build.id, name="Deploy App", session_target="isolated",
                                      payload_message="deploy", agent_id="ops"))
    jobs.create(store, child(build.id, "failure", name="Build Alert", session_target="isolated",
                             payload_message="alert"))
    jobs.create(store, child(deploy.id, "complete", name="Health Check", trigger_delay_s=60))
    text = cli(settings, "jobs", "tree").output.splitlines()
    assert text == ["Build App (shell)", "├─ Deploy App [→success] (agent:ops)", "│  └─ Health Check [→complete +60s] "
                    "(shell)", "└─ Build Alert [→failure]"]
    data = json.loads(cli(settings, "jobs", "tree", "--json").output)
    assert data[0]["name"] == "Build App" and data[0]["children"][0]["children"][0]["name"] == "Health Check"
