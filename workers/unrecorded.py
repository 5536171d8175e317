"""Outcomes the store would not take within their bound, written in the background until it does.

The worker retries an outcome write for ``retrying.OUTCOME`` (about 30 s). If the database is still
down after that, giving up would be the worst choice: the run would stay ``running`` with no heartbeat,
the reaper would close it ``crashed`` ("worker stopped heartbeating") and an at-least-once job would run
a second time although its shell completed. So the outcome is kept here, in the process that knows it:

* the run stays ``running`` in SQL — true as far as the store can know, its outcome is not recorded yet —
  and the process's heartbeat keeps refreshing it, so the reaper leaves it alone;
* one thread per process writes every kept outcome again every ``RETRY_EVERY_S`` (each write retried for
  its own bound), logging each failure at ERROR with the run, its job and the outcome;
* once the store takes it, the run's post-run pipeline runs (chains, retries, delivery), as it would have.

If the process ends first (killed, shut down), the outcome is lost with it; the heartbeat stops, and the
reaper closes the run ``crashed`` after ``stale_after_s`` — the truth the store then has: the worker
left without recording it. The ERROR lines say which outcome that was.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clawsched.sched.runtime import Runtime
from clawsched.sched.store import finishing
from clawsched.sched.store.models import Job, Run
from clawsched.sched.store.retrying import StoreUnavailable
from clawsched.sched.store.tables import utcnow

from . import heartbeats
from .post_run import pipeline

log = logging.getLogger(__name__)

RETRY_EVERY_S = 5.0


@dataclass(frozen=True)
class Kept:
    """An outcome not recorded yet: the rows the worker held and the values it meant to write."""

    job: Job
    run: Run
    values: dict[str, Any]
    now: datetime


class Writer:
    """This process's kept outcomes and the thread that writes them."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.pid = os.getpid()
        self.kept: dict[str, Kept] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="unrecorded-outcomes", daemon=True)
        self.thread.start()

    def keep(self, item: Kept) -> None:
        with self.lock:
            self.kept[item.run.id] = item
        beats = heartbeats.service(self.rt)
        beats.watch(item.run.id, threading.Event())
        beats.recording(item.run.id)
        log.error("run %s of job %s: its outcome (%s) is not recorded; the run stays running and the write is "
                  "retried every %.0f s until the database takes it", item.run.id, item.job.id,
                  item.values.get("status"), RETRY_EVERY_S)

    def pending(self) -> list[str]:
        with self.lock:
            return sorted(self.kept)

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(RETRY_EVERY_S):
            with self.lock:
                current = list(self.kept.values())
            for item in current:
                self._write(item)

    def _settled(self, item: Kept) -> None:
        """The outcome is in the store (or no longer ours to write): it is not pending any more."""
        with self.lock:
            self.kept.pop(item.run.id, None)
        heartbeats.service(self.rt).forget(item.run.id)

    def _write(self, item: Kept) -> None:
        """Write the outcome once; when it is settled (written, or the run was no longer ours to write),
        it stops being pending before the post-run pipeline runs, which may take a while."""
        run, job = item.run, item.job
        try:
            done = finishing.finish_loaded(self.rt.store, job, run, item.values, now=item.now, retried=True)
        except StoreUnavailable as exc:
            log.error("run %s of job %s: outcome (%s) still not recorded: %s", run.id, job.id,
                      item.values.get("status"), exc)
            return
        except Exception:
            log.exception("run %s of job %s: outcome (%s) cannot be recorded; given up: %r", run.id, job.id,
                          item.values.get("status"), {k: item.values.get(k) for k in ("status", "summary")})
            self._settled(item)
            return
        self._settled(item)
        if done is None:
            log.warning("run %s of job %s: no longer running (cancelled); its late outcome is dropped", run.id, job.id)
            return
        log.warning("run %s of job %s: outcome %s recorded late, %.1f s after the run ended", run.id, job.id,
                    done.run.status, (utcnow() - item.now).total_seconds())
        try:
            pipeline.process(self.rt, run.id, now=utcnow())
        except Exception:  # the reconciler runs it again (finalize_orphans)
            log.exception("run %s of job %s: post-run pipeline failed after a late outcome", run.id, job.id)


_writers: dict[int, Writer] = {}
_guard = threading.Lock()


def writer(rt: Runtime) -> Writer:
    """This process's writer for ``rt`` (started on first use, after any fork)."""
    with _guard:
        found = _writers.get(id(rt))
        if found is None or found.pid != os.getpid():
            found = _writers[id(rt)] = Writer(rt)
        return found


def keep(rt: Runtime, job: Job, run: Run, values: dict[str, Any], now: datetime) -> None:
    """Hand an outcome the store did not take to this process's background writer."""
    writer(rt).keep(Kept(job, run, dict(values), now))
