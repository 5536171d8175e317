"""Context from a job's prior runs: ``recent`` (last N summaries) and ``hybrid`` (recent plus the most
relevant earlier summaries by the database's own full-text rank: SQLite FTS5 ``bm25``, PostgreSQL
``ts_rank`` over a generated ``tsvector``; both objects come from migration 0003).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select, text

from clawsched.sched.rules.prompts import PriorRun, merge_prior
from clawsched.sched.states import ContextRetrieval
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Run

STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with "
    "what when where which who why how do does did not no yes you your we our they their them".split()
)
MAX_TERMS = 24


def terms(query: str) -> list[str]:
    """Lowercase alphanumeric words longer than one letter, minus stopwords, first occurrence kept."""
    seen: list[str] = []
    for word in re.findall(r"[a-z0-9]+", query.lower()):
        if len(word) > 1 and word not in STOPWORDS and word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def context_for(store: Store, *, job_id: str, exclude_run: str | None, mode: str, limit: int,
                query: str) -> list[PriorRun]:
    if mode == ContextRetrieval.NONE.value or limit <= 0:
        return []
    recent = _recent(store, job_id, exclude_run, limit)
    if mode != ContextRetrieval.HYBRID.value:
        return recent
    return merge_prior(recent, relevant(store, job_id=job_id, exclude_run=exclude_run, limit=limit,
                                        query=query), limit)


def _recent(store: Store, job_id: str, exclude_run: str | None, limit: int) -> list[PriorRun]:
    with store.read() as s:
        q = (select(Run.started_at, Run.summary)
             .where(Run.job_id == job_id, Run.summary.is_not(None), Run.finished_at.is_not(None))
             .order_by(Run.finished_at.desc()).limit(limit))
        if exclude_run:
            q = q.where(Run.id != exclude_run)
        return [PriorRun(started, summary or "") for started, summary in s.execute(q)]


def relevant(store: Store, *, job_id: str, exclude_run: str | None, limit: int, query: str) -> list[PriorRun]:
    """The earlier summaries of ``job_id`` that best match ``query``, best first."""
    words = terms(query)
    if not words:
        return []
    if store.dialect == "sqlite":
        sql = text(
            "SELECT r.started_at, r.summary FROM runs_fts f JOIN runs r ON r.id = f.run_id "
            "WHERE runs_fts MATCH :q AND f.job_id = :job AND r.id != :exclude "
            "ORDER BY bm25(runs_fts) LIMIT :limit"
        )
        q = " OR ".join(f'"{w}"' for w in words)
    elif store.dialect == "postgresql":
        sql = text(
            "SELECT started_at, summary FROM runs, to_tsquery('english', :q) query "
            "WHERE job_id = :job AND id != :exclude AND summary_tsv @@ query "
            "ORDER BY ts_rank(summary_tsv, query) DESC, finished_at DESC LIMIT :limit"
        )
        q = " | ".join(words)
    else:
        return []
    with store.read() as s:
        rows = s.execute(sql, {"q": q, "job": job_id, "exclude": exclude_run or "", "limit": limit}).all()
    return [PriorRun(_instant(started), summary or "") for started, summary in rows]


def _instant(value: object) -> datetime | None:
    """Raw SQL bypasses the UTC type: SQLite gives text, PostgreSQL a naive datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
