"""Context retrieval through the database's own full-text search (SQLite FTS5, PostgreSQL tsvector)."""

from __future__ import annotations

from datetime import timedelta

from clawsched.sched import jobs
from clawsched.sched.store import retrieval
from clawsched.sched.store.models import Run, new_id, utcnow
from tests.support.agent_fixtures import *  # noqa: F403
from tests.support.agent_fixtures import agent_job, run_and_wait

RELEVANT = "Disk usage on db01 reached 91 percent; the postgres WAL archive was pruned."


def _history(store, job_id: str, summaries: list[str]) -> None:
    base = utcnow() - timedelta(hours=len(summaries))
    with store.session() as s:
        for i, text in enumerate(summaries):
            at = base + timedelta(hours=i)
            s.add(Run(id=new_id(), job_id=job_id, status="ok", trigger="schedule", created_at=at, started_at=at,
                      finished_at=at, summary=text))


def test_hybrid_puts_the_relevant_earlier_summary_into_the_prompt(store, redis, agent_settings, gateway,
                                                                  agent_worker, agent_beat):
    job = jobs.create(store, agent_job(payload_message="Check disk usage on db01 and the WAL archive",
                                       context_retrieval="hybrid", context_retrieval_limit=2))
    filler = [f"Routine check {i}: mail queue empty, certificates valid" for i in range(12)]
    _history(store, job.id, [RELEVANT, *filler])
    run = run_and_wait(store, redis, agent_settings, job.id)
    prompt = gateway.requests_to("/v1/chat/completions")[0].body["messages"][0]["content"]
    assert "--- Prior Run Context ---" in prompt
    assert RELEVANT in prompt
    assert "Routine check 11" in prompt and "Routine check 10" in prompt  # the recent ones
    assert "Routine check 3:" not in prompt
    assert prompt.index("--- End Prior Run Context ---") < prompt.index("Check disk usage on db01")
    assert run.status == "ok"


def test_recent_gives_the_last_n_and_relevance_uses_full_text_rank(store):
    job = jobs.create(store, agent_job(context_retrieval="recent"))
    _history(store, job.id, [RELEVANT, "cache warmed", "backup finished", "nothing new"])
    recent = retrieval.context_for(store, job_id=job.id, exclude_run=None, mode="recent", limit=2, query="disk")
    assert [p.text for p in recent] == ["nothing new", "backup finished"]
    found = retrieval.relevant(store, job_id=job.id, exclude_run=None, limit=3, query="What about the disks on db01?")
    assert [p.text for p in found] == [RELEVANT]
    assert found[0].started_at is not None and found[0].started_at.tzinfo is not None
    assert retrieval.relevant(store, job_id=job.id, exclude_run=None, limit=3, query="the of and") == []
    other = jobs.create(store, agent_job(name="other"))
    assert retrieval.relevant(store, job_id=other.id, exclude_run=None, limit=3, query="disk db01") == []
