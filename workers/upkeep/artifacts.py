"""Stream files left on this host by runs that no longer exist are deleted (issue 19, D11).

A shell run writes its two streams to files under ``CLAWSCHED_HOME/artifacts`` and removes them once
captured; an offloaded stream's file stays only where the output is kept in files
(``CLAWSCHED_OUTPUT_STORE=file``) or the database refused the chunks. Retention deletes runs in SQL from
whichever host takes the pass, which cannot reach another host's disk, so each host sweeps its own
folder: a file whose run is gone is deleted. Files younger than ``GRACE_S`` are left alone (a run still
writing, or one the store has not recorded yet). At most once per prune interval per host, and at most
``BATCH`` files a pass.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from clawsched.sched.runtime import Runtime
from clawsched.sched.store import upkeep

log = logging.getLogger(__name__)

GRACE_S = 3600.0
BATCH = 5000
STREAM_SUFFIXES = (".stdout", ".stderr")


def sweep_artifacts(rt: Runtime, app: Any, now: datetime) -> int:
    interval_ms = max(1, int(rt.settings.prune_interval_s * 1000))
    if not rt.redis.set(rt.settings.key(f"sweep:{rt.hostname}"), "1", nx=True, px=interval_ms):
        return 0
    return sweep(rt, now.timestamp() - GRACE_S)


def sweep(rt: Runtime, older_than: float) -> int:
    """Delete this host's stream files older than ``older_than`` (epoch seconds) whose run is gone."""
    files = _old_stream_files(rt.settings.artifacts, older_than)
    if not files:
        return 0
    kept = upkeep.existing_runs(rt.store, list({run_id for run_id, _ in files}))
    removed = 0
    for run_id, path in files:
        if run_id not in kept:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    if removed:
        log.info("deleted %d stream files of pruned runs from %s", removed, rt.settings.artifacts)
    return removed


def _old_stream_files(root: Path, older_than: float) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    try:
        folders = list(os.scandir(root))
    except FileNotFoundError:
        return found
    for folder in folders:
        if not folder.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(folder.path):
            stem, suffix = os.path.splitext(entry.name)
            if suffix in STREAM_SUFFIXES and entry.stat(follow_symlinks=False).st_mtime < older_than:
                found.append((stem, Path(entry.path)))
                if len(found) >= BATCH:
                    return found
    return found
