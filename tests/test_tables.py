"""The schema is written once, as Core tables; the ORM classes and the migrations must agree with it."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clawsched.sched.store.models import Base
from clawsched.sched.store.tables import METADATA


def _search_index(diff: Any) -> bool:
    """What the migrations add for full-text search and the tables leave out (FTS5; a tsvector column)."""
    kind = diff[0] if isinstance(diff, tuple) else None
    if kind == "remove_table":
        return bool(diff[1].name.startswith("runs_fts"))
    if kind == "remove_index":
        return bool(diff[1].name == "ix_runs_summary_tsv")
    if kind == "remove_column":
        return bool(diff[3].name == "summary_tsv")
    return False


def test_migrations_build_exactly_the_tables(store):
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert [d for d in diffs if not _search_index(d)] == []


def test_each_class_annotates_every_column_with_its_nullability():
    mapped = {m.class_.__table__.name: m for m in Base.registry.mappers}
    assert set(mapped) == set(METADATA.tables)
    for mapper in mapped.values():
        annotations = mapper.class_.__annotations__
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            assert prop.key in annotations, f"{mapper.class_.__name__}.{prop.key} has no Mapped annotation"
            optional = annotations[prop.key].endswith("| None]")
            assert optional == column.nullable, f"{mapper.class_.__name__}.{prop.key}: {annotations[prop.key]}"


def test_ids_are_random_uuid4_hex():
    import uuid

    from clawsched.sched.store.tables import new_id

    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for made in ids[:100]:
        parsed = uuid.UUID(hex=made)
        assert (parsed.hex, parsed.version, parsed.variant) == (made, 4, uuid.RFC_4122)
