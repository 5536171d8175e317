"""Conditions on a job and its run, written once and read two ways.

A gate's "nothing to do" condition decides in Python whether the gate must look at a run, and the
same condition, rendered as SQL by ``store.predicates``, lets PostgreSQL load and start a run that no
gate needs to look at in one statement. Writing it once keeps the two from drifting apart
(tests/test_predicates.py evaluates each on sample rows both ways).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Row = Literal["job", "run"]


@dataclass(frozen=True)
class Field:
    row: Row
    name: str

    def of(self, job: Any, run: Any) -> Any:
        return getattr(job if self.row == "job" else run, self.name)


@dataclass(frozen=True)
class IsTrue:
    field: Field


@dataclass(frozen=True)
class Blank:
    """NULL or the empty string."""

    field: Field


@dataclass(frozen=True)
class IsNull:
    field: Field


@dataclass(frozen=True)
class Equals:
    field: Field
    value: str


@dataclass(frozen=True)
class NotIn:
    field: Field
    values: tuple[str, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    condition: Condition


Condition = IsTrue | Blank | IsNull | Equals | NotIn | AnyOf | AllOf | Not


def job(name: str) -> Field:
    return Field("job", name)


def run(name: str) -> Field:
    return Field("run", name)


def holds(condition: Condition, job_row: Any, run_row: Any) -> bool:
    """The condition evaluated on rows the caller holds (no NULL columns are compared by it)."""
    match condition:
        case IsTrue(f):
            return bool(f.of(job_row, run_row))
        case Blank(f):
            return not f.of(job_row, run_row)
        case IsNull(f):
            return f.of(job_row, run_row) is None
        case Equals(f, value):
            return bool(f.of(job_row, run_row) == value)
        case NotIn(f, values):
            return f.of(job_row, run_row) not in values
        case AnyOf(conditions):
            return any(holds(c, job_row, run_row) for c in conditions)
        case AllOf(conditions):
            return all(holds(c, job_row, run_row) for c in conditions)
        case Not(inner):
            return not holds(inner, job_row, run_row)
    raise TypeError(f"not a condition: {condition!r}")
