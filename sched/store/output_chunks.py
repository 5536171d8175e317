"""Offloaded output in the database: a run's stream a chunk a row, written once, read in order.

A worker writes the stream it offloaded (``put``) before it records the run's outcome, so a finished
run's output is readable from any host; a reader takes one row per statement (``chunks``), so a 200 MB
log is never held whole, on either side. Rows go with their run (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlalchemy import delete, func, insert, select

from clawsched.sched.store.engine import Store
from clawsched.sched.store.tables import RUN_OUTPUT_CHUNKS as CHUNKS

CHUNK_BYTES = 1 << 20


def put(store: Store, run_id: str, stream: str, fd: int, size: int, chunk: int = CHUNK_BYTES) -> int:
    """Store the first ``size`` bytes of ``fd`` as ``run_id``'s ``stream``, replacing what a previous
    delivery of the run stored; one transaction, so a reader sees all of it or none. The chunks written."""
    with store.session() as s:
        s.execute(delete(CHUNKS).where(CHUNKS.c.run_id == run_id, CHUNKS.c.stream == stream))
        seq = 0
        for seq, start in enumerate(range(0, size, chunk)):
            data = os.pread(fd, min(chunk, size - start), start)
            s.execute(insert(CHUNKS).values(run_id=run_id, stream=stream, seq=seq, data=data))
        return seq + 1 if size else 0


def count(store: Store, run_id: str, stream: str) -> int:
    """How many chunks of the stream are stored (0: none; the output is inline or in a file)."""
    with store.read() as s:
        return int(s.scalar(select(func.count()).select_from(CHUNKS)
                            .where(CHUNKS.c.run_id == run_id, CHUNKS.c.stream == stream)) or 0)


def chunks(store: Store, run_id: str, stream: str, total: int) -> Iterator[bytes]:
    """The ``total`` stored chunks in order, one statement each: memory stays at one chunk."""
    for seq in range(total):
        with store.read() as s:
            data = s.scalar(select(CHUNKS.c.data).where(
                CHUNKS.c.run_id == run_id, CHUNKS.c.stream == stream, CHUNKS.c.seq == seq))
        if data is None:
            return
        yield bytes(data)
