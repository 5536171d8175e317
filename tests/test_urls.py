"""Database URLs: what the driver can open alone, and what must go through the store (pure, no database)."""

from __future__ import annotations

from clawsched.sched.store.urls import DriverTarget, driver_target, normalise_url


def test_pasted_postgres_urls_use_psycopg():
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_postgres_urls_become_libpq_uris_with_their_options():
    url = "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt1&sslmode=disable"
    assert driver_target(url) == DriverTarget("postgresql", url)
    assert driver_target("postgres://u:pw@h/db") == DriverTarget("postgresql", "postgresql://u:pw@h/db")


def test_an_existing_sqlite_file_is_opened_by_the_driver(tmp_path):
    db = tmp_path / "clawsched.db"
    db.write_bytes(b"SQLite format 3\x00")
    assert driver_target(f"sqlite:///{db}") == DriverTarget("sqlite", str(db))


def test_what_only_the_store_can_open_goes_through_it(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    assert driver_target(f"sqlite:///{tmp_path / 'missing.db'}") is None  # the store creates its schema
    assert driver_target(f"sqlite:///{empty}") is None
    assert driver_target("sqlite://") is None
    assert driver_target("sqlite:///:memory:") is None
    assert driver_target(f"sqlite:///{empty}?mode=ro") is None
    assert driver_target("sqlite:///file:x.db?uri=true") is None
    assert driver_target("postgresql+psycopg2://u@h/db") is None
    assert driver_target("mysql://u@h/db") is None
