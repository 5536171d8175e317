"""Every shell block of README.md and docs/*.md works as written: each document's blocks run, in order, in
one bash session (so a variable one block sets is there in the next), with ``set -euo pipefail``, against
a fresh ``clawsched up`` in a fresh ``HOME`` (so ``~/.clawsched`` and ``127.0.0.1:8765`` are the defaults
the docs name). ``curl`` fails on an HTTP error, an unset variable fails, and a ``<placeholder>`` fails as
the redirection it is.

A block is a fenced ``sh``, ``bash`` or ``shell`` block (output goes in plain fences). A comment on the line
before its fence changes how it is checked:

    <!-- docs-test: setup JOB=$(...) -->       shell run before the block, unseen by the reader: it makes
                                              what the prose says exists (a job, a run) and names it
    <!-- docs-test: skip WHY, tests/x.py::t --> not run here (it runs forever, needs a fleet, ...); the
                                              comment must name the test that covers it, and that test
                                              must exist
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import up_stack

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(setup|skip)\b(.*?)-->\s*\Z", re.S)
COVERED_BY = re.compile(r"tests/[\w/]+(?:\.py)?(?:::\w+)?")
API_PORT = 8765  # the docs' address; one docs run at a time on a machine (a lock below)
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --show-error "$@"; }   # an HTTP error fails the block
"""


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    code: str
    mode: str  # "run", "setup" or "skip"
    note: str  # the setup code, or the skip's reason

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text()
    found = []
    for fence in FENCE.finditer(text):
        if fence.group(1) not in SHELLS:
            continue
        before = text[:fence.start()].rstrip()
        directive = DIRECTIVE.search(before[before.rfind("<!--"):]) if before.endswith("-->") else None
        mode, note = (directive.group(1), directive.group(2).strip()) if directive else ("run", "")
        found.append(Block(doc, text[:fence.start()].count("\n") + 1, fence.group(2), mode, note))
    return found


def _script(doc_blocks: list[Block]) -> str:
    parts = [PRELUDE]
    for block in doc_blocks:
        if block.mode == "skip":
            continue
        parts.append(f"echo '::block {block.where}' >&2")
        if block.mode == "setup":
            parts.append(block.note)
        parts.append(block.code)
    return "\n".join(parts) + "\n"


def _covering_test_exists(reference: str) -> bool:
    path, _, name = reference.partition("::")
    target = ROOT / path
    if not name:
        return target.exists() or target.with_suffix(".py").exists()
    return target.is_file() and re.search(rf"^\s*def {re.escape(name)}\(", target.read_text(), re.M) is not None


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_skipped_block_names_the_test_that_covers_it(doc):
    for block in blocks(doc):
        if block.mode != "skip":
            continue
        named = COVERED_BY.findall(block.note)
        assert named, f"{block.where}: a skipped block names the test that covers it (tests/x.py::name)"
        missing = [n for n in named if not _covering_test_exists(n)]
        assert not missing, f"{block.where}: the skip names {missing}, which do not exist"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def docs_stack(tmp_path_factory) -> Iterator[dict[str, str]]:
    """``clawsched up`` on the defaults (``~/.clawsched`` in a fresh HOME, the API on 127.0.0.1:8765)."""
    lock = open("/tmp/clawsched-docs-commands.lock", "w")  # noqa: SIM115 - held for the module
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if not _port_free(API_PORT):
            pytest.skip(f"DOCS COMMANDS NOT RUN: 127.0.0.1:{API_PORT}, the docs' API address, is taken by "
                        "another process")
        home = tmp_path_factory.mktemp("docs-home")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWSCHED_", "OPENCLAW_"))}
        env.update(HOME=str(home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                   CLAWSCHED_HEARTBEAT_S="0.5", CLAWSCHED_LOG_LEVEL="WARNING")
        with up_stack.up(home / ".clawsched", port=API_PORT, env=env):
            yield env
    finally:
        lock.close()


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_shell_block_works_as_written(doc, docs_stack, tmp_path):
    runnable = [b for b in blocks(doc) if b.mode != "skip"]
    if not runnable:
        return
    result = subprocess.run(["bash", "-c", _script(runnable)], cwd=tmp_path, env=docs_stack, capture_output=True,
                            text=True, timeout=300)
    if result.returncode != 0:
        started = re.findall(r"^::block (\S+)$", result.stderr, re.M)
        where = started[-1] if started else str(doc.relative_to(ROOT))
        pytest.fail(f"{where}: the block failed with exit {result.returncode} (make it work as written, or give it "
                    f"a docs-test setup or skip comment: see {Path(__file__).name})\n--- stderr\n"
                    f"{result.stderr[-3000:]}\n--- stdout\n{result.stdout[-2000:]}")


def test_dev_test_is_the_ci_command():
    """README's `./dev test` is what CI runs: .ci/run ends by running it."""
    assert "exec ./dev test" in (ROOT / ".ci" / "run").read_text()


def test_completion_scripts_for_zsh_and_fish(docs_stack):
    """docs/cli.md's zsh and fish lines, which bash cannot run: each shell's script comes out of clawsched."""
    for shell, mark in (("zsh", "compdef"), ("fish", "complete ")):
        out = subprocess.run(["clawsched"], env=dict(docs_stack, _CLAWSCHED_COMPLETE=f"{shell}_source"),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and mark in out.stdout, out.stderr
