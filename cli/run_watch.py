"""What ``jobs run`` tells about the run it started: what an overlapping run really does (skipped,
queued behind, beside, cancelling), and, with ``--wait`` / ``--follow``, the run to its end.

``--follow`` streams stdout while the run runs from the artifacts file the shell writes (on this host,
as under ``clawsched up``); from another host the output comes whole when the run ends. Either way the
bytes printed are the run's recorded stdout, each once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from clawsched.cli.context import CliContext

POLL_S = 0.2
OUTCOMES = {"skip": ("skipped", "will be recorded skipped, not run"),
            "queue": ("queued", "is queued behind it and starts when it ends"),
            "allow": ("parallel", "is queued and runs beside it"),
            "cancel_other": ("cancels_running", "is queued and cancels it first")}


def overlap(obj: CliContext, job_id: str) -> dict[str, Any] | None:
    """What a new run of ``job_id`` does about a run of it already running; None when none is."""
    from clawsched.sched import jobs, runs

    job = jobs.get(obj.store, job_id)
    running = [r.id for r in runs.running(obj.store) if r.job_id == job_id]
    if not running:
        return None
    outcome, note = OUTCOMES.get(str(job.overlap_policy), ("unknown", f"overlap_policy {job.overlap_policy}"))
    return {"running": running, "policy": str(job.overlap_policy), "outcome": outcome,
            "message": f"{note}: job {job.name!r} is already running (run {running[0][:12]}, overlap_policy "
                       f"{job.overlap_policy})"}


def exit_code(run: Any) -> int:
    """The exit status of ``jobs run --wait``: 0 ok, the shell's own code for an error, 124 a timeout
    (as timeout(1)), 1 for anything else that did not end ok (skipped, cancelled, rejected, crashed)."""
    if run.status == "ok":
        return 0
    if run.status == "error" and run.shell_exit_code:
        return min(int(run.shell_exit_code), 255)
    return 124 if run.status == "timeout" else 1


def wait(obj: CliContext, run_id: str, *, follow: bool, timeout_s: float) -> Any:
    """The run once it has ended (status terminal), streaming its stdout meanwhile with ``follow``."""
    from clawsched.sched import runs
    from clawsched.sched.errors import UnavailableError

    path = obj.settings.artifacts / run_id[:2] / f"{run_id}.stdout"
    printed = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = runs.get(obj.store, run_id)
        if follow:
            printed += _print_new(path, printed)
        if run.finished_at is not None:
            if follow:
                _print_rest(obj, run, printed)
            return run
        time.sleep(POLL_S)  # a user-facing wait for a run to end, not test synchronisation
    raise UnavailableError(f"run {run_id} did not end within {timeout_s:g}s (still {run.status}); it goes on: "
                           f"`clawsched runs get {run_id[:12]}`, or wait longer with --timeout")


def _print_new(path: Path, offset: int) -> int:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return 0
    cut = data.rfind(b"\n") + 1  # whole lines only: the rest comes with the next read or at the end
    if cut:
        click.echo(data[:cut].decode("utf-8", "replace"), nl=False)
    return cut


def _print_rest(obj: CliContext, run: Any, printed: int) -> None:
    from clawsched.sched import output

    full = output.read(obj.store, run, "stdout").encode()
    if len(full) > printed:
        click.echo(full[printed:].decode("utf-8", "replace"), nl=False)


def outcome_line(run: Any) -> str:
    took = f" in {run.duration_ms} ms" if run.duration_ms is not None else ""
    code = f", exit code {run.shell_exit_code}" if run.shell_exit_code is not None else ""
    why = run.skip_reason or (run.error_message if run.status != "ok" else None)
    return f"run {run.id[:12]} {run.status}{took}{code}" + (f": {why}" if why else "")
