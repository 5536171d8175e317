"""The contract suite's fixtures: one real gateway and one ``clawsched up`` per test session.

The toolchain comes from the npm registry into a cache (toolchain.py); the gateway, its fakes and
clawsched run in a loopback-only network namespace (namespace.py). Where the toolchain or the namespace
cannot be had, every contract test skips, and the end of the run says why in one line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract import toolchain
from tests.contract.clawsched_cli import Clawsched
from tests.contract.gateway import Gateway
from tests.contract.namespace import Namespace, NamespaceUnavailable
from tests.contract.records import Records

SKIPPED: list[str] = []  # the reason, once, when the suite could not run here


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract: runs against the real OpenClaw gateway (tests/contract/)")


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SKIPPED:
        terminalreporter.write_line(f"CONTRACT SUITE SKIPPED (real OpenClaw gateway): {SKIPPED[0]}",
                                    red=True, bold=True)


def _unavailable(reason: str) -> None:
    if not SKIPPED:
        SKIPPED.append(reason)
    pytest.skip(f"contract suite skipped: {reason}")


@pytest.fixture(scope="session")
def contract_toolchain() -> toolchain.Toolchain:
    if SKIPPED:
        _unavailable(SKIPPED[0])
    try:
        return toolchain.ensure(toolchain.cache_root())
    except toolchain.Unavailable as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def namespace(contract_toolchain: toolchain.Toolchain) -> Iterator[Namespace]:
    try:
        ns = Namespace.create(f"csct-{os.getpid()}-{uuid.uuid4().hex[:4]}")
    except NamespaceUnavailable as exc:
        _unavailable(str(exc))
        raise
    try:
        yield ns
    finally:
        ns.close()


@pytest.fixture(scope="session")
def session_root() -> Iterator[Path]:
    """A folder of this session's own: pytest prunes its older base folders while another session runs, and
    the gateway outlives a test. Kept afterwards when ``CLAWSCHED_CONTRACT_KEEP`` is set."""
    root = Path(tempfile.mkdtemp(prefix="clawsched-contract-"))
    yield root
    if not os.environ.get("CLAWSCHED_CONTRACT_KEEP"):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def real_gateway(namespace: Namespace, contract_toolchain: toolchain.Toolchain, session_root: Path) -> Gateway:
    gw = Gateway(namespace, contract_toolchain, session_root / "gateway")
    gw.prepare()
    gw.start()
    return gw  # stopped with the namespace's other processes


@pytest.fixture(scope="session")
def clawsched_up(namespace: Namespace, real_gateway: Gateway, session_root: Path) -> Iterator[Clawsched]:
    cs = Clawsched(namespace, session_root / "clawsched")
    cs.up()
    try:
        yield cs
    finally:
        cs.down()


@pytest.fixture
def gateway(real_gateway: Gateway) -> Gateway:
    """The session's gateway, running and with Telegram up, whatever the test before did to it."""
    real_gateway.telegram_down(False)
    real_gateway.ensure_running()
    return real_gateway


@pytest.fixture
def cs(clawsched_up: Clawsched, gateway: Gateway) -> Clawsched:
    return clawsched_up


@pytest.fixture
def records(real_gateway: Gateway) -> Records:
    return Records(real_gateway.logs)


@pytest.fixture
def token() -> str:
    """A word unique to the test, put in its job's name and text, so its traces are found in shared logs."""
    return f"ct{uuid.uuid4().hex[:10]}"
