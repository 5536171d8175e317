"""The CLI as a test drives it: in process, against the test's settings, through click's runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def invoker(settings: Any) -> Callable[..., Any]:
    """``invoke(*args, expect=0, env=None)``: run ``clawsched ARGS``, assert its exit code, return the result."""
    from click.testing import CliRunner

    from clawsched.cli.context import CliContext
    from clawsched.cli.main import cli

    def invoke(*args: str, expect: int = 0, env: dict[str, str] | None = None) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=CliContext(settings), env=env, catch_exceptions=False)
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return invoke
