"""Issue 19, D8 (CLI): a number argument out of range is a usage error naming it, not a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli


@pytest.mark.parametrize(("args", "names"), [
    (["runs", "list", "some-job", "99999999999999999999"], "LIMIT"),
    (["runs", "list", "some-job", "0"], "LIMIT"),
    (["msg", "inbox", "ops", "99999999999999999999"], "LIMIT"),
    (["msg", "send", "a", "b", "hi", "--priority", "7"], "--priority"),
])
def test_an_out_of_range_number_is_a_usage_error(settings, args, names):
    result = CliRunner().invoke(cli, args, obj=CliContext(settings))
    assert result.exit_code == 2, result.output
    assert names in result.output and "range" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_json_nested_past_the_decoder_s_depth_is_a_usage_error_naming_the_spec(settings):
    """D8: 100 000 nested arrays on stdin ended as an internal error (RecursionError)."""
    result = CliRunner().invoke(cli, ["jobs", "add", "-"], input="[" * 100_000, obj=CliContext(settings))
    assert result.exit_code == 2, result.output
    assert "job spec from stdin is nested too deeply" in result.output and "flatten it" in result.output
