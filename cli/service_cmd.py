"""``clawsched service install|uninstall``: the systemd units of a fleet host, written where systemd reads
them, each running this installation's ``clawsched`` (the units themselves: ``cli/units.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json

ROLES = ("migrate", "beat", "worker", "api", "flower")
DEST = Path("/etc/systemd/system")


@click.group("service")
def service() -> None:
    """systemd units for this host: install or uninstall them (deploy/README.md)."""


def _roles(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in ROLES]
    if unknown or not names:
        raise click.BadParameter(f"{', '.join(unknown) or '(none)'}: choose from {', '.join(ROLES)}",
                                 param_hint="'--roles'")
    return names


@command(service, "install")
@click.option("--roles", default=",".join(ROLES), show_default=True, callback=lambda _c, _p, v: _roles(v),
              help="Which units, comma-separated (a worker-only host: migrate,worker).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=DEST, show_default=True,
              help="Where systemd reads units.")
@click.option("--clawsched", "executable", type=click.Path(dir_okay=False, path_type=Path),
              help="The clawsched the units run (default: this one).")
def service_install(obj: CliContext, as_json: bool, roles: tuple[str, ...], dest: Path,
                    executable: Path | None) -> None:
    """Write the units; then `systemctl daemon-reload`, start clawsched-migrate, enable the rest."""
    from clawsched.cli.units import MARK, render

    exe = str((executable or Path(sys.executable).with_name("clawsched")).absolute())  # the venv's script
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for role in roles:
        name, text = render(role, exe)
        (dest / name).write_text(MARK + text)
        written.append(str(dest / name))
    if as_json:
        emit_json({"ok": True, "written": written, "clawsched": exe})
        return
    click.echo("\n".join(f"wrote {w}" for w in written))
    click.echo("next: systemctl daemon-reload && systemctl start clawsched-migrate && systemctl enable --now "
               + " ".join(f"clawsched-{r}@shell:agent" if r == "worker" else f"clawsched-{r}"
                          for r in roles if r != "migrate"))


@command(service, "uninstall")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=DEST, show_default=True,
              help="Where the units were written.")
def service_uninstall(obj: CliContext, as_json: bool, dest: Path) -> None:
    """Remove the units `service install` wrote (a unit it did not write is left alone). Stop and disable
    them first: `systemctl disable --now 'clawsched-*'`."""
    from clawsched.cli.units import MARK, UNITS

    removed = []
    for name, _text in UNITS.values():
        path = dest / name
        if path.is_file() and path.read_text().startswith(MARK):
            path.unlink()
            removed.append(str(path))
    emit_json({"ok": True, "removed": removed}) if as_json else click.echo(
        "\n".join(f"removed {r}" for r in removed) or "no clawsched units written by service install here")
