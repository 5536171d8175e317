"""``clawsched apply`` and ``clawsched export``: schedules as code (agentcli v0.1 manifests, YAML or JSON)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json

_MARK = {"create": "+", "update": "~", "adopt": ">", "remove": "-", "unchanged": "="}


@command(None, "apply")
@click.argument("manifest")
@click.option("--dry-run", is_flag=True, help="Print the plan (created, changed field by field, removed); "
              "write nothing.")
@click.option("--prune", is_flag=True, help="Also remove jobs of the manifest's workflows it no longer names.")
@click.option("--adopt-by", type=click.Choice(["name"]), help="Take over jobs not made by a manifest whose name "
              "is a task's name: moved to the task's stable id, with their runs and history.")
def apply(obj: CliContext, as_json: bool, manifest: str, dry_run: bool, prune: bool, adopt_by: str | None) -> None:
    """Create or update the jobs MANIFEST describes (a file, or - for stdin), all in one transaction.

    Each task is a job with the stable id sha256(workflow_id:task_id); `trigger: {parent, on}` becomes a
    chain. Applying the same manifest twice changes nothing.
    """
    from clawsched.sched.manifests import applying, document

    text, source = _read(manifest)
    plan = applying.apply(obj.store, document.load(text, source), dry_run=dry_run, prune=prune,
                          adopt_by=adopt_by)
    if plan.changed and not dry_run and obj.settings.redis_url:
        obj.wake("manifest applied")
    if as_json:
        emit_json(_plan_json(plan, dry_run))
        return
    for line in _plan_lines(plan, dry_run):
        click.echo(line)


def _read(manifest: str) -> tuple[str, str]:
    from clawsched.sched.errors import SpecError

    if manifest == "-":
        return sys.stdin.read(), "manifest (stdin)"
    try:
        with open(manifest, encoding="utf-8") as fh:
            return fh.read(), manifest
    except OSError as exc:
        raise SpecError(f"manifest {manifest!r} cannot be read ({exc.strerror}); give a path to a YAML or "
                        "JSON file, or - for stdin", field="manifest") from None


def _plan_json(plan: Any, dry_run: bool) -> dict[str, Any]:
    from clawsched.sched.manifests.planning import shown

    return {"ok": True, "dryRun": dry_run, "changed": plan.changed, "summary": plan.summary(),
            "items": [{"action": i.action, "id": i.job_id, "name": i.name, "workflow": i.workflow,
                       "task": i.task, "changes": {k: {"from": shown(k, a), "to": shown(k, b)}
                                                   for k, (a, b) in i.changes.items()}}
                      for i in plan.items]}


def _plan_lines(plan: Any, dry_run: bool) -> list[str]:
    from clawsched.sched.manifests.planning import shown

    if not plan.changed:
        return [f"no changes: {len(plan.items)} job(s) already as the manifest says"]
    lines = []
    for item in plan.items:
        if item.action == "unchanged":
            continue
        lines.append(f"{_MARK[item.action]} {item.action} {item.workflow}/{item.task}  {item.name}  "
                     f"(job {item.job_id[:12]})")
        lines += [f"    {k}: {_text(shown(k, a))} -> {_text(shown(k, b))}" for k, (a, b) in item.changes.items()]
    s = plan.summary()
    verb = "would be " if dry_run else ""
    adopted = f"{s['adopt']} {verb}adopted, " if s["adopt"] else ""
    lines.append(f"{s['create']} {verb}created, {s['update']} {verb}changed, {adopted}{s['remove']} {verb}removed, "
                 f"{s['unchanged']} unchanged" + (" (dry run: nothing written)" if dry_run else ""))
    return lines


def _text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


@command(None, "export", short_lived=True)
@click.option("--workflow", "workflows", multiple=True, help="Only this workflow (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True)
@click.option("-o", "--output", "path", help="Write to this file instead of stdout.")
def export(obj: CliContext, as_json: bool, workflows: tuple[str, ...], fmt: str, path: str | None) -> None:
    """Write the jobs that manifests manage as one manifest; `clawsched apply` of it changes nothing.

    Secrets are written as *** (applying *** keeps the stored value). Jobs no manifest manages are
    named on stderr, not exported.
    """
    from clawsched.sched.manifests import applying

    manifest, skipped = applying.export(obj.store, workflows or None)
    text = _dump(manifest, "json" if as_json else fmt)
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)
    if skipped:
        names = ", ".join(f"{j.name} ({j.id[:12]})" for j in skipped[:10]) + (" ..." if len(skipped) > 10 else "")
        click.echo(f"note: {len(skipped)} job(s) not managed by a manifest were not exported: {names}", err=True)


def _dump(manifest: dict[str, Any], fmt: str) -> str:
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
