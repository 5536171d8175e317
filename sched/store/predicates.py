"""``rules.predicates`` conditions as SQL over ``jobs`` and ``runs`` (the one place they become SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from clawsched.sched.rules.predicates import AllOf, AnyOf, Blank, Condition, Equals, Field, IsNull, IsTrue, Not, NotIn

from .tables import JOBS, RUNS


def column(field: Field) -> Any:
    return (JOBS if field.row == "job" else RUNS).c[field.name]


def to_sql(condition: Condition) -> ColumnElement[bool]:
    match condition:
        case IsTrue(f):
            return column(f).is_(True)
        case Blank(f):
            return func.coalesce(column(f), "") == ""
        case IsNull(f):
            return column(f).is_(None)
        case Equals(f, value):
            return column(f) == value  # type: ignore[no-any-return]
        case NotIn(f, values):
            return and_(*(column(f) != v for v in values))  # `=`/`!=` only: ``dbapi`` compiles no IN lists
        case AnyOf(conditions):
            return or_(*(to_sql(c) for c in conditions))
        case AllOf(conditions):
            return and_(*(to_sql(c) for c in conditions))
        case Not(inner):
            return not_(to_sql(inner))
    raise TypeError(f"not a condition: {condition!r}")
