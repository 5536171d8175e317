"""The browser tests' Chromium: the machine's (Debian's ``chromium`` package, /usr/bin/chromium) or the one
``playwright install chromium`` downloaded. Where neither can be had, every browser test skips and the end
of the run says so in one line."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SKIPPED: list[str] = []
SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the dashboard in a real headless Chromium (tests/browser/)")


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SKIPPED:
        terminalreporter.write_line(f"BROWSER TESTS SKIPPED (dashboard in Chromium): {SKIPPED[0]}", red=True, bold=True)


def _unavailable(reason: str) -> None:
    if not SKIPPED:
        SKIPPED.append(reason)
    pytest.skip(f"browser tests skipped: {reason}")


def _executable(playwright: Any) -> str | None:
    """The system's Chromium first (it needs no download), else Playwright's own if it was installed."""
    for name in SYSTEM_CHROMIUMS:
        found = shutil.which(name)
        if found:
            return found
    own = Path(playwright.chromium.executable_path)
    return str(own) if own.exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        executable = _executable(playwright)
        if executable is None:
            _unavailable("no Chromium: apt-get install chromium, or playwright install chromium")
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses its sandbox as root
        chromium = playwright.chromium.launch(executable_path=executable, args=args)
        yield chromium
        chromium.close()
