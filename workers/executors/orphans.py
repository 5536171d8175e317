"""A shell job dies with the worker process that runs it: a sentinel process kills what it leaves behind.

Otherwise a SIGKILLed worker (or an OOM-killed pool child) would leave its jobs running while recovery
replays them elsewhere. Each worker process that runs shells has one sentinel, started with its first
shell: a small ``python -I -S`` that holds the read end of a pipe whose write end only the worker process
holds, and a page of shared memory where the worker keeps the process group of every shell it is
waiting on. When the worker process is gone, for whatever reason, the kernel closes the pipe; the
sentinel wakes on the EOF and SIGKILLs each group still listed, then exits.

Why not ``setpriv --pdeathsig KILL`` in front of every shell: that exec cost ~0.9 ms of CPU a run (a
tenth of a trivial run's whole cost on two cores) and killed only the shell itself, not what the shell
had started. Why not ``prctl`` in a ``preexec_fn``: any preexec_fn makes ``subprocess`` do a full fork of
the worker instead of the vfork fast path (~20 ms a run). The sentinel costs one process per worker
process (~12 MB resident) and two stores into shared memory a run.

Killing a listed group is safe without more checks: every shell runs in its own session
(``start_new_session``), so its group id is its pid, and Linux does not hand out a pid that is still a
live group's id; a group whose members are all gone answers ESRCH.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

SLOTS = 1024  # shells one worker process may wait on at once; past that, a shell runs unguarded
_SLOT = struct.Struct("=i")
P = TypeVar("P", bound="subprocess.Popen[bytes]")


class Sentinel:
    """The current process's sentinel and its table of guarded process groups."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.checked = time.monotonic()  # when it was last seen running
        self._lock = threading.Lock()
        self._free = list(range(SLOTS - 1, -1, -1))
        self._memfd = os.memfd_create("clawsched-orphans", os.MFD_CLOEXEC)
        os.ftruncate(self._memfd, SLOTS * _SLOT.size)
        self._table = mmap.mmap(self._memfd, SLOTS * _SLOT.size)
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, str(self._memfd)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, pass_fds=(self._memfd,),
            start_new_session=True,  # a Ctrl-C to the worker's terminal must not take the sentinel first
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    @contextlib.contextmanager
    def guarding(self, pgid: int) -> Iterator[None]:
        """List ``pgid`` while the caller waits on it."""
        with self._lock:
            slot = self._free.pop() if self._free else None
        if slot is None:
            log.warning("more than %d shells at once in process %d: this one is not killed if the worker dies",
                        SLOTS, self.pid)
            yield
            return
        _SLOT.pack_into(self._table, slot * _SLOT.size, pgid)
        try:
            yield
        finally:
            _SLOT.pack_into(self._table, slot * _SLOT.size, 0)
            with self._lock:
                self._free.append(slot)

    def close(self) -> None:
        """Release a sentinel that is being replaced: its pipe end, its table, its process entry."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        self._table.close()
        os.close(self._memfd)

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's pipe end and table, so the parent's death still shows as EOF."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                os.close(self.process.stdin.fileno())
        with contextlib.suppress(OSError):
            os.close(self._memfd)


_current: Sentinel | None = None
_starting = threading.Lock()
CHECK_EVERY_S = 1.0  # how often ``sentinel()`` makes sure the sentinel still runs (a syscall, not per run)


def sentinel() -> Sentinel | None:
    """This process's sentinel, (re)started when missing or dead; None where it cannot work (not Linux)."""
    global _current
    if not sys.platform.startswith("linux"):
        return None
    found = _current
    if found is not None and found.pid == os.getpid() and time.monotonic() < found.checked + CHECK_EVERY_S:
        return found
    with _starting:
        found = _current
        if found is not None and found.pid == os.getpid() and found.alive():
            found.checked = time.monotonic()
            return found
        if found is not None and found.pid == os.getpid():
            log.warning("the orphan sentinel of process %d exited; starting another (shells already running "
                        "stay unguarded)", found.pid)
            found.close()
        try:
            found = _current = Sentinel()
        except OSError:
            log.exception("could not start the orphan sentinel: shells will not die with this worker")
            return None
    return found


@contextlib.contextmanager
def guarded(spawn: Callable[[], P]) -> Iterator[P]:
    """Start a shell with ``spawn`` (it must give it its own session) and, while the caller waits on it,
    have its whole group killed if this process dies. The sentinel is up before the shell starts."""
    guard = sentinel()
    proc = spawn()
    if guard is None:
        yield proc
        return
    with guard.guarding(proc.pid):
        yield proc


def _after_fork_in_child() -> None:
    global _current
    if _current is not None:
        _current.forget_after_fork()
        _current = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _watch(memfd: int) -> None:
    """The sentinel: block until the worker process is gone, then kill every group it still listed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    table = mmap.mmap(memfd, SLOTS * _SLOT.size, prot=mmap.PROT_READ)
    while os.read(0, 4096):
        pass
    for (pgid,) in _SLOT.iter_unpack(table):
        if pgid > 0:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    _watch(int(sys.argv[1]))
