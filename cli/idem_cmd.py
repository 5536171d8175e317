"""``clawsched idem ...``: the idempotency ledger of at-least-once jobs (openclaw-scheduler's ``idem``)."""

from __future__ import annotations

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, show


@click.group("idem")
def idem() -> None:
    """The idempotency ledger: the keys at-least-once runs claim so a replay never delivers twice."""


@command(idem, "status")
@click.argument("job_id")
@click.argument("limit", type=click.IntRange(1, 10_000), default=50)
def idem_status(obj: CliContext, as_json: bool, job_id: str, limit: int) -> None:
    """JOB_ID's recent keys, newest first."""
    from clawsched.sched import idempotency, jobs

    job_id = obj.resolve("job", job_id)
    if job_id not in jobs.names(obj.store, [job_id]):
        jobs.get(obj.store, job_id)  # a clear error for an unknown job, not an empty list
    rows = idempotency.for_job(obj.store, job_id, limit)
    show(as_json, [idempotency.as_dict(e) for e in rows],
         [[e.key, e.status, e.run_id, e.claimed_at, e.expires_at] for e in rows],
         ["key", "status", "run", "claimed", "expires"])


@command(idem, "check")
@click.argument("key")
def idem_check(obj: CliContext, as_json: bool, key: str) -> None:
    """Whether KEY is in the ledger, and who claimed it."""
    from clawsched.sched import idempotency

    entry = idempotency.find(obj.store, key)
    if as_json:
        emit_json({"found": True, **idempotency.as_dict(entry)} if entry else {"found": False, "key": key})
    elif entry is None:
        click.echo(f"{key}: not in the ledger")
    else:
        click.echo(f"{key}: {entry.status} by run {entry.run_id} of job {entry.job_id} at {entry.claimed_at}")


@command(idem, "release")
@click.argument("key")
def idem_release(obj: CliContext, as_json: bool, key: str) -> None:
    """Release KEY by hand so it can be claimed again (a replay of its run may then deliver again)."""
    from clawsched.sched import idempotency

    released = idempotency.release(obj.store, key)
    if as_json:
        emit_json({"ok": True, "key": key, **({"released": True} if released else {"already_released": True})})
    else:
        click.echo(f"{key} {'released' if released else 'was already released'}")


@command(idem, "prune")
def idem_prune(obj: CliContext, as_json: bool) -> None:
    """Delete the entries past their expiry."""
    from clawsched.sched import idempotency

    removed = idempotency.prune(obj.store)
    emit_json({"ok": True, "pruned": removed}) if as_json else click.echo(f"pruned {removed} key(s)")
