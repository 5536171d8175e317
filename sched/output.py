"""Run output: what is kept on the run row, what is offloaded, and how to read it back from any host.

Small output lives in the row. Past the job's offload threshold the row keeps the tail as an excerpt plus
the path of the artifacts file the stream was written to, and the full stream is offloaded: into the
database a megabyte a row (``store.output_chunks``; the default, ``CLAWSCHED_OUTPUT_STORE=database``), so
``clawsched runs output`` on any host returns every byte, after which the file is removed; or, with
``CLAWSCHED_OUTPUT_STORE=file`` (or when the database refused it), left in the file on the worker's host.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from clawsched.sched.errors import NotFound
from clawsched.sched.store import output_chunks, retrying
from clawsched.sched.store.engine import Store
from clawsched.sched.store.models import Run

log = logging.getLogger(__name__)

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
    note = f"[... {size - len(tail.encode())} earlier bytes offloaded; full output: clawsched runs output]\n"
    return Captured(text=note + tail, path=str(path), size=size)


def offload(store: Store, run_id: str, stream: str, fd: int, captured: Captured) -> None:
    """Put an offloaded stream in the database and remove its file. When the database refuses it (down
    past ``retrying.OUTCOME``) the file stays: readable on this host, and the run is recorded all the same."""
    if captured.path is None:
        return
    try:
        retrying.call(lambda: output_chunks.put(store, run_id, stream, fd, captured.size), bound=retrying.OUTCOME,
                      what=f"run {run_id}: offloading {captured.size} bytes of {stream}")
    except Exception as exc:
        log.error("run %s: %s stays in %s on this host only (%s)", run_id, stream, captured.path, exc)
        return
    with contextlib.suppress(OSError):
        os.unlink(captured.path)


def tail(text: str | None, limit: int) -> str:
    """The last ``limit`` bytes of ``text`` (whole characters), stripped: summaries and excerpts."""
    if not text:
        return ""
    raw = text.strip().encode()
    return raw[-limit:].decode("utf-8", "ignore") if len(raw) > limit else text.strip()


CHUNK_BYTES = 1 << 20


def read(store: Store, run: Run, stream: str) -> str:
    """The full stored or offloaded output of one stream of a run."""
    return "".join(chunks(store, run, stream))


def chunks(store: Store, run: Run, stream: str, size: int = CHUNK_BYTES) -> Iterator[str]:
    """The same output, a megabyte at a time: a 200 MB offloaded log is shown without holding it in memory
    (``read`` of one peaked at 472 MB RSS). Offloaded output comes from the database when it is there, else
    from the file, which is opened before the first chunk, so an unreadable one fails before anything is
    shown."""
    if stream not in STREAMS:
        raise NotFound(f"stream {stream!r}: choose stdout or stderr")
    path = getattr(run, f"shell_{stream}_path")
    if not path:
        inline = getattr(run, f"shell_{stream}")
        text = run.reply if inline is None and stream == "stdout" and run.reply else inline or ""
        return iter([text] if text else [])
    stored = output_chunks.count(store, run.id, stream)
    if stored:
        return _decode(output_chunks.chunks(store, run.id, stream, stored))
    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by _drain
    except OSError as exc:
        raise NotFound(
            f"run {run.id}: {stream} was offloaded to {path} on host {run.hostname}, which is not readable "
            f"here ({exc.strerror}); read it on that host"
        ) from None
    return _drain(f, size)


def _decode(pieces: Iterator[bytes]) -> Iterator[str]:
    """UTF-8 across chunk boundaries (a character split between two rows is whole in the text), invalid
    bytes replaced as reading the file replaces them."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for piece in pieces:
        if text := decoder.decode(piece):
            yield text
    if rest := decoder.decode(b"", final=True):
        yield rest


def _drain(f: TextIO, size: int) -> Iterator[str]:
    with f:
        while text := f.read(size):
            yield text
