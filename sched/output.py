"""Run output: what is kept on the run row, what is offloaded to a file, and how to read it back.

Small output lives in the row. Past the job's offload threshold the full stream stays in an artifacts
file (on the worker's host) and the row keeps the tail as an excerpt plus the path, so a 5 MB log never
bloats the database but ``clawsched runs output`` still returns every byte.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from clawsched.sched.errors import NotFound
from clawsched.sched.store.models import Run

STREAMS = ("stdout", "stderr")


@dataclass(frozen=True)
class Captured:
    text: str | None  # what goes in the row
    path: str | None  # the offloaded file, if any
    size: int


def capture(fd: int, path: Path, *, store_limit: int, offload_threshold: int) -> Captured:
    """Decide what of a finished stream (open as ``fd``, named ``path``) to keep inline; removes the file
    when it is small. Reads through the descriptor the stream was written to: no lookups by name."""
    size = os.fstat(fd).st_size
    if size <= offload_threshold:
        text = os.pread(fd, size, 0).decode("utf-8", "replace") if size else ""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return Captured(text=text[-store_limit:] if len(text) > store_limit else text, path=None, size=size)
    start = max(0, size - store_limit)
    tail = os.pread(fd, size - start, start).decode("utf-8", "replace")
    note = f"[... {size - len(tail.encode())} earlier bytes in {path}; full output: clawsched runs output]\n"
    return Captured(text=note + tail, path=str(path), size=size)


def tail(text: str | None, limit: int) -> str:
    """The last ``limit`` bytes of ``text`` (whole characters), stripped: summaries and excerpts."""
    if not text:
        return ""
    raw = text.strip().encode()
    return raw[-limit:].decode("utf-8", "ignore") if len(raw) > limit else text.strip()


CHUNK_BYTES = 1 << 20


def read(run: Run, stream: str) -> str:
    """The full stored or offloaded output of one stream of a run."""
    return "".join(chunks(run, stream))


def chunks(run: Run, stream: str, size: int = CHUNK_BYTES) -> Iterator[str]:
    """The same output, a megabyte at a time: a 200 MB offloaded log is shown without holding it in memory
    (``read`` of one peaked at 472 MB RSS). The file is opened before the first chunk, so an unreadable one
    fails before anything is shown."""
    if stream not in STREAMS:
        raise NotFound(f"stream {stream!r}: choose stdout or stderr")
    path = getattr(run, f"shell_{stream}_path")
    if not path:
        inline = getattr(run, f"shell_{stream}")
        text = run.reply if inline is None and stream == "stdout" and run.reply else inline or ""
        return iter([text] if text else [])
    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by _drain
    except OSError as exc:
        raise NotFound(
            f"run {run.id}: {stream} was offloaded to {path} on host {run.hostname}, which is not readable "
            f"here ({exc.strerror}); read it on that host"
        ) from None
    return _drain(f, size)


def _drain(f: TextIO, size: int) -> Iterator[str]:
    with f:
        while text := f.read(size):
            yield text
