"""Issue 13, accepted-but-ignored agent fields: ``execution_intent: plan`` and ``execution_read_only`` put an
execution-boundary note in the prompt, and typed inbox messages reach the prompt (and the inbox) by kind --
constraint, decision, fact, task, preference, then the rest -- then urgent first, then oldest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clawsched.sched import jobs, messages
from clawsched.sched.rules import prompts
from clawsched.sched.store.models import Run, utcnow
from clawsched.workers.gateway.replies import SILENT_REPLY_NOTE
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import agent_job, run_and_wait

OPEN, CLOSE = "[SYSTEM NOTE -- execution boundary]", "[END SYSTEM NOTE]"


def _prompt_for(store, **fields) -> str:
    from clawsched.workers.executors.agent import assemble_prompt

    job = jobs.create(store, agent_job(**fields))
    return assemble_prompt(store, jobs.get(store, job.id), Run(id="r1", job_id=job.id, created_at=utcnow()))


def _note(prompt: str) -> str:
    """The boundary note of ``prompt``, from its opening line to its closing one."""
    start = prompt.index(OPEN)
    return prompt[start:prompt.index(CLOSE, start) + len(CLOSE)]


def test_a_plan_only_job_is_told_to_propose_and_not_act(store):
    prompt = _prompt_for(store, execution_intent="plan")
    note = _note(prompt)
    assert "planning-only" in note and "Do not execute" in note
    assert "change no files, systems or state" in note
    assert "forbidden" not in note  # a plan-only job that may act on nothing is not also called read-only
    header = prompt.splitlines()[0]
    assert header.startswith("[scheduler:") and prompt.splitlines()[1] == OPEN  # right under the header
    assert prompt.index(CLOSE) < prompt.index("\nSummarize status")  # the payload still comes last


def test_a_read_only_job_may_inspect_but_is_forbidden_to_modify(store):
    note = _note(_prompt_for(store, execution_read_only=True))
    assert "Read-only" in note and "may inspect" in note
    assert "modifying any file, system or state is forbidden" in note
    assert "planning-only" not in note


def test_plan_and_read_only_together_carry_both_boundaries_in_one_note(store):
    prompt = _prompt_for(store, execution_intent="plan", execution_read_only=True)
    note = _note(prompt)
    assert prompt.count(OPEN) == 1 and prompt.count(CLOSE) == 1
    assert note.splitlines() == [OPEN, prompts.PLAN_ONLY_NOTE, prompts.READ_ONLY_NOTE, CLOSE]


def test_an_execute_job_that_may_write_gets_no_note(store):
    prompt = _prompt_for(store, execution_intent="execute", execution_read_only=False)
    assert OPEN not in prompt and "planning-only" not in prompt and "forbidden" not in prompt
    assert prompts.execution_note("execute", False) is None


def test_the_note_reaches_the_gateway_in_the_chat_turn(store, redis, agent_settings, gateway, agent_worker,
                                                       agent_beat):
    job = jobs.create(store, agent_job(execution_intent="plan", execution_read_only=True))
    assert run_and_wait(store, redis, agent_settings, job.id).status == "ok"
    [req] = gateway.requests_to("/v1/chat/completions", "POST")
    sent = req.body["messages"][0]["content"]
    note = "\n".join([OPEN, prompts.PLAN_ONLY_NOTE, prompts.READ_ONLY_NOTE, CLOSE])
    assert sent == f"[scheduler:{job.id} Agent job]\n{SILENT_REPLY_NOTE}\n{note}\n\nSummarize status"


def _typed_inbox(store) -> dict[str, str]:
    """One message of each ranked kind, sent in the reverse of the order they must come out in, plus two
    text messages (one urgent), so send order, priority and kind all disagree."""
    t0, ids = utcnow(), {}
    sends = [("urgent-text", "text", 2), ("plain-text", "text", 0), ("preference", "preference", 0),
             ("task", "task", 0), ("fact", "fact", 1), ("decision-old", "decision", 0),
             ("decision-urgent", "decision", 2), ("constraint", "constraint", 0)]
    for i, (label, kind, priority) in enumerate(sends):
        ids[label] = messages.send(store, "ops", "main", f"body of {label}", kind=kind, priority=priority,
                                   owner="ops", now=t0 + timedelta(seconds=i)).id
    return ids


ORDER = ["constraint", "decision-urgent", "decision-old", "fact", "task", "preference", "urgent-text", "plain-text"]


def test_the_inbox_lists_by_kind_then_urgency_then_age(store):
    ids = _typed_inbox(store)
    assert [m.id for m in messages.inbox(store, "main")] == [ids[label] for label in ORDER]


def test_take_for_prompt_keeps_the_weightiest_kinds_within_the_limit(store):
    ids = _typed_inbox(store)
    taken = messages.take_for_prompt(store, "main", limit=3)
    assert [m.id for m in taken] == [ids["constraint"], ids["decision-urgent"], ids["decision-old"]]
    assert messages.get(store, ids["urgent-text"]).status == "pending"  # an urgent chat line waits its turn
    rest = messages.take_for_prompt(store, "main", limit=10)
    assert [m.id for m in rest] == [ids[label] for label in ORDER[3:]]


def test_the_prompt_shows_typed_messages_constraint_first_and_leaves_the_rest_pending(store):
    ids = _typed_inbox(store)
    prompt = _prompt_for(store)
    shown = [label for label in ORDER if f"body of {label}" in prompt]
    assert shown == ORDER[:prompts.MAX_PROMPT_MESSAGES]
    assert sorted(shown, key=lambda label: prompt.index(f"body of {label}")) == shown
    assert "[constraint] (owner: ops) body of constraint" in prompt
    for label in ORDER[prompts.MAX_PROMPT_MESSAGES:]:
        assert messages.get(store, ids[label]).status == "pending"


@pytest.mark.parametrize("kind", ["text", "result", "status", "system"])
def test_build_puts_untyped_kinds_after_the_typed_ones_and_keeps_the_callers_order_within_a_kind(kind):
    items = [prompts.InboxItem("a", kind, None, "first untyped"), prompts.InboxItem("a", "preference", None, "pref"),
             prompts.InboxItem("a", kind, None, "second untyped"), prompts.InboxItem("a", "constraint", None, "rule")]
    prompt = prompts.build(job_id="j", name="n", payload="p", messages=items)
    assert [prompt.index(b) for b in ("rule", "pref", "first untyped", "second untyped")] == sorted(
        prompt.index(b) for b in ("rule", "pref", "first untyped", "second untyped"))


def test_a_plan_only_main_job_wakes_the_main_session_with_its_boundary(store, redis, agent_settings, gateway,
                                                                        agent_worker, agent_beat):
    job = jobs.create(store, agent_job(session_target="main", payload_kind="systemEvent", execution_intent="plan",
                                       payload_message="Plan the disk cleanup"))
    run = run_and_wait(store, redis, agent_settings, job.id)
    assert run.status == "ok", run.error_message
    [wake] = gateway.requests_to("/hooks/wake")
    note = prompts.execution_note("plan", False)
    assert wake.body["text"] == f"[scheduler:{job.id} Agent job]\n{note}\nPlan the disk cleanup"
