"""How the CLI is put together: one module per command group, loaded only when named, imports one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

from clawsched.cli.main import COMMANDS, cli

CLI_DIR = Path(__file__).resolve().parents[1] / "cli"
EVERY_COMMAND = {"agents", "alias", "api", "apply", "approvals", "backup", "beat", "capabilities", "db", "demo",
                 "dispatch", "enqueue", "export", "flower", "idem", "import", "jobs", "list", "msg", "queue", "restore",
                 "runs", "schema", "service", "status", "tasks", "up", "version", "worker"}


def _modules() -> list[Path]:
    return sorted(CLI_DIR.glob("*.py"))


def test_the_root_lists_every_command_and_nothing_that_does_not_exist():
    ctx = click.Context(cli)
    assert set(cli.list_commands(ctx)) == EVERY_COMMAND
    for name in cli.list_commands(ctx):
        found = cli.get_command(ctx, name)
        assert isinstance(found, click.Command) and found.name == name, name
    assert cli.get_command(ctx, "nope") is None


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_group_lives_in_the_module_named_for_it(name):
    found = cli.get_command(click.Context(cli), name)
    assert found is not None
    if isinstance(found, click.Group):
        assert COMMANDS[name] == f"{name}_cmd"
    else:  # the top-level commands: long-running processes, `enqueue`, which starts a dispatch, backup/restore,
        # apply/export of manifests
        assert COMMANDS[name] in ("procs_cmd", "dispatch_cmd", "flower_cmd", "api_cmd", "backup_cmd", "apply_cmd")
    for sub in [found, *getattr(found, "commands", {}).values()]:
        assert sub.callback is not None and sub.callback.__module__ == f"clawsched.cli.{COMMANDS[name]}", sub.name


def test_up_has_no_option_for_a_process_that_does_not_exist():
    up = cli.get_command(click.Context(cli), "up")
    assert up is not None
    assert {opt for p in up.params for opt in p.opts} == {"--no-worker", "--no-api", "--json"}


def test_command_modules_never_import_main():
    for path in _modules():
        if path.name in ("main.py", "__main__.py"):
            continue
        imported = {node.module for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ImportFrom)}
        assert "clawsched.cli.main" not in imported, path.name


def test_functions_and_modules_stay_small():
    for path in _modules():
        source = path.read_text()
        assert len(source.splitlines()) <= 400, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                assert node.end_lineno - node.lineno + 1 <= 40, f"{path.name}: {node.name}"


LOADED_BY_JOBS_LIST = """
import sys
from clawsched.cli.main import main
sys.argv = ["clawsched", "jobs", "list", "--help"]
try:
    main()
finally:
    print(sorted(m for m in sys.modules if m.startswith("clawsched.cli.") and m.endswith("_cmd")), file=sys.stderr)
"""


def test_a_command_loads_only_its_own_module():
    done = subprocess.run([sys.executable, "-c", LOADED_BY_JOBS_LIST], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "['clawsched.cli.jobs_cmd']", done.stderr
