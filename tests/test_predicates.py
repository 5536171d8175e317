"""Conditions on a job and its run, read two ways: ``rules.predicates.holds`` on rows in Python, and
``store.predicates.to_sql`` in the database. Every gate's ``free`` condition and ``KEY_READY`` must give the
same answer both ways on every sample row, on every backend: PostgreSQL starts a run in its loading
statement exactly where Python would have let every gate pass it."""

from __future__ import annotations

import itertools
from types import SimpleNamespace as NS
from typing import Any

import pytest
from sqlalchemy import insert, select

from clawsched.sched.rules.predicates import (
    AllOf,
    AnyOf,
    Blank,
    Condition,
    Equals,
    Field,
    IsNull,
    IsTrue,
    Not,
    NotIn,
    holds,
    job,
    run,
)
from clawsched.sched.store import starting
from clawsched.sched.store.models import JOBS, RUNS, Job, Run, new_id, utcnow
from clawsched.sched.store.predicates import column, to_sql
from clawsched.workers import gates

FREE = gates.all_free(gates.GATES)
CONDITIONS: dict[str, Condition] = {
    **{f"gate:{g.name}": g.free for g in gates.GATES},
    "all_free": FREE,
    "KEY_READY": starting.KEY_READY,
    "one_statement_start": AllOf((FREE, starting.KEY_READY)),  # what load_and_start_statement renders
    # one of each kind more, so that every branch of to_sql meets the database
    "is_null": IsNull(run("idempotency_key")),
    "equals": Equals(run("trigger"), "manual"),
    "blank_run_column": Blank(run("idempotency_key")),
    "any_of": AnyOf((Equals(job("session_target"), "main"), IsTrue(job("enabled")))),
    "not_not_in": Not(NotIn(run("trigger"), ("chain", "retry", "replay"))),
}

ENABLED = (True, False)
POOLS = (None, "", "gpu")
TARGETS = ("shell", "isolated", "main", "session")
GUARANTEES = ("at-most-once", "at-least-once")
TRIGGERS = ("schedule", "manual", "chain", "retry", "replay", "spawn")
KEYS = (None, "k-1")
PAUSED = (False, True)


def sample_rows(store: Any) -> list[tuple[Job, Run]]:
    """Every combination of the columns the conditions read, as jobs and runs in the database."""
    now, job_rows, run_rows = utcnow(), [], []
    for enabled, pool, target, guarantee, paused in itertools.product(ENABLED, POOLS, TARGETS, GUARANTEES, PAUSED):
        job_id = new_id()
        job_rows.append({"id": job_id, "name": f"{target}/{pool}", "payload_message": "x", "enabled": enabled,
                         "resource_pool": pool, "session_target": target, "delivery_guarantee": guarantee,
                         "session_id": "s-1" if target == "session" else None,
                         # the deadline gate's columns, set on some of the samples
                         "starting_deadline_s": 60 if guarantee == "at-least-once" and pool is None else None,
                         "schedule_to_start_s": 30 if pool == "" and enabled else None,
                         # the superseding gate's column
                         "overlap_policy": "cancel_other" if pool == "gpu" and target == "shell" else "skip",
                         "paused_at": now if paused else None,
                         # the budget gate's column
                         "budget": {"runs_per_hour": 5} if pool == "" and target == "shell" else None})
        run_rows += [{"id": new_id(), "job_id": job_id, "status": "queued", "trigger": trigger,
                      "idempotency_key": key, "created_at": now} for trigger, key in itertools.product(TRIGGERS, KEYS)]
    with store.session() as s:
        s.execute(insert(JOBS), job_rows)
        s.execute(insert(RUNS), run_rows)
    with store.read() as s:
        pairs = [(j, r) for j, r in s.execute(select(Job, Run).join(Run, Run.job_id == Job.id)).all()]
    assert len(pairs) == len(run_rows) == 96 * 12
    return pairs


def matching_in_sql(store: Any, condition: Condition) -> set[str]:
    query = select(RUNS.c.id).select_from(JOBS.join(RUNS, RUNS.c.job_id == JOBS.c.id)).where(to_sql(condition))
    with store.read() as s:
        return set(s.scalars(query))


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_holds_and_to_sql_agree_on_every_sample_row(store, name):
    condition = CONDITIONS[name]
    pairs = sample_rows(store)
    in_python = {r.id for j, r in pairs if holds(condition, j, r)}
    assert 0 < len(in_python) < len(pairs), f"{name}: the samples do not tell holding from not holding"
    in_sql = matching_in_sql(store, condition)
    disagree = sorted((j.name, j.enabled, j.delivery_guarantee, r.trigger, r.idempotency_key, r.id in in_sql)
                      for j, r in pairs if (r.id in in_python) != (r.id in in_sql))
    assert not disagree, f"{name}: Python and {store.dialect} disagree on (job, run, in SQL): {disagree[:10]}"


def test_the_gates_free_exactly_the_runs_they_are_meant_to(store):
    pairs = sample_rows(store)
    free = {r.id for r in (r for j, r in pairs if holds(FREE, j, r))}
    expected = {r.id for j, r in pairs
                if (j.enabled or r.trigger not in ("chain", "retry"))
                and j.session_target == "shell" and j.starting_deadline_s is None and j.schedule_to_start_s is None
                and j.overlap_policy != "cancel_other" and (j.paused_at is None or r.trigger == "manual")
                and j.budget is None}
    assert free == expected == matching_in_sql(store, FREE)
    ready = {r.id for j, r in pairs if j.delivery_guarantee == "at-most-once" or r.idempotency_key is not None}
    assert ready == {r.id for j, r in pairs if holds(starting.KEY_READY, j, r)}
    assert ready == matching_in_sql(store, starting.KEY_READY)


def test_every_condition_renders_without_in_lists_so_the_direct_connection_can_run_it(store):
    for name, condition in CONDITIONS.items():
        prepared = store.direct.prepare(select(RUNS.c.id).select_from(JOBS.join(RUNS, RUNS.c.job_id == JOBS.c.id))
                                        .where(to_sql(condition)))
        assert " IN " not in prepared.sql.upper(), name


def compared_fields(condition: Condition) -> list[Field]:
    """The fields a condition compares by value (``IsNull`` and ``Blank`` are the NULL-aware tests)."""
    match condition:
        case IsTrue(f) | Equals(f, _) | NotIn(f, _):
            return [f]
        case AnyOf(inner) | AllOf(inner):
            return [f for c in inner for f in compared_fields(c)]
        case Not(inner):
            return compared_fields(inner)
    return []


def test_the_conditions_in_use_compare_only_columns_that_cannot_be_null():
    """SQL's NULL is neither equal nor unequal, Python's None is unequal: under a ``Not`` the two readings of
    ``Equals``/``NotIn`` on a NULL column would part. ``holds`` says it compares no NULL columns; this keeps it so."""
    in_use = {**{g.name: g.free for g in gates.GATES}, "KEY_READY": starting.KEY_READY, "NO_LIMITS": starting.NO_LIMITS}
    compared = {(name, f.row, f.name) for name, c in in_use.items() for f in compared_fields(c)}
    assert {(row, field) for _, row, field in compared} == {
        ("job", "enabled"), ("run", "trigger"), ("job", "session_target"), ("job", "delivery_guarantee"),
        ("job", "overlap_policy")}
    nullable = [c for c in compared if column(Field(c[1], c[2])).nullable is not False]  # type: ignore[arg-type]
    assert not nullable, f"conditions compare columns that may be NULL: {nullable}"


def test_all_free_is_every_gates_condition():
    assert FREE == AllOf(tuple(g.free for g in gates.GATES))
    assert [g.name for g in gates.GATES] == ["disabled", "paused", "deadline", "superseding", "budget", "gateway"]
    assert gates.all_free(()) == AllOf(())


J = NS(enabled=True, resource_pool=None, session_target="shell", name="")
R = NS(trigger="chain", idempotency_key=None, summary="")


@pytest.mark.parametrize(("condition", "expected"), [
    (IsTrue(job("enabled")), True), (IsTrue(run("trigger")), True), (IsTrue(job("resource_pool")), False),
    (Blank(job("resource_pool")), True), (Blank(run("summary")), True), (Blank(run("trigger")), False),
    (IsNull(job("resource_pool")), True), (IsNull(run("summary")), False),
    (Equals(run("trigger"), "chain"), True), (Equals(job("trigger"), "chain"), "error"),
    (Equals(job("resource_pool"), "gpu"), False),
    (NotIn(job("session_target"), ("isolated", "main")), True), (NotIn(run("trigger"), ("chain",)), False),
    (NotIn(run("trigger"), ()), True),
    (AnyOf((IsNull(run("trigger")), Equals(run("trigger"), "chain"))), True), (AnyOf(()), False),
    (AnyOf((IsNull(run("trigger")), IsTrue(job("resource_pool")))), False),
    (AllOf((IsTrue(job("enabled")), Equals(run("trigger"), "chain"))), True), (AllOf(()), True),
    (AllOf((IsTrue(job("enabled")), IsNull(run("trigger")))), False),
    (Not(IsTrue(job("enabled"))), False), (Not(Not(IsTrue(job("enabled")))), True),
])
def test_holds_for_each_kind_of_condition(condition, expected):
    if expected == "error":  # a field is read from the row it names: the job has no trigger
        with pytest.raises(AttributeError):
            holds(condition, J, R)
        return
    assert holds(condition, J, R) is expected


def test_a_field_reads_the_row_it_names():
    assert (job("name").of(J, R), run("summary").of(J, R)) == ("", "")
    assert (Field("job", "session_target").of(J, R), Field("run", "trigger").of(J, R)) == ("shell", "chain")


def test_anything_else_is_not_a_condition():
    with pytest.raises(TypeError, match="not a condition"):
        holds("enabled", J, R)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a condition"):
        to_sql(job("enabled"))  # type: ignore[arg-type]
