"""Issue 15, "a CLI that never surprises": every command fed a missing file, a directory, bad JSON (and a
non-UTF-8 file), an unknown id and an ambiguous id prefix answers with one line naming the problem and its
documented exit code, or with ``--json`` one JSON object ``{ok: false, error: {code, message, field, exit}}``;
never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from clawsched.cli.context import CliContext
from clawsched.cli.main import cli
from clawsched.sched import jobs
from clawsched.sched.states import Trigger
from clawsched.sched.store.run_rows import follow_up
from clawsched.sched.store.tables import APPROVALS, MESSAGES, RUNS, TASK_TRACKER

SHELL = {"name": "disk check", "schedule_cron": "*/15 * * * *", "session_target": "shell",
         "payload_message": "echo 42", "run_timeout_ms": 60000}

# Every command that reads input, with where each kind of input goes: F a JSON argument, J a job id,
# R a run id, A an approval id, M a message id, T a tracker id, N a name or label, P a plain file path.
EVERY_COMMAND: dict[str, list[str]] = {
    "jobs add": ["jobs", "add", "F"], "jobs update": ["jobs", "update", "J", "F"],
    "jobs validate": ["jobs", "validate", "F"], "jobs get": ["jobs", "get", "J"],
    "jobs enable": ["jobs", "enable", "J"], "jobs disable": ["jobs", "disable", "J"],
    "jobs delete": ["jobs", "delete", "J", "--yes"], "jobs run": ["jobs", "run", "J"],
    "jobs tree": ["jobs", "tree", "J"], "jobs cancel": ["jobs", "cancel", "J"],
    "jobs approve": ["jobs", "approve", "J"], "jobs reject": ["jobs", "reject", "J"],
    "runs list": ["runs", "list", "J"], "runs get": ["runs", "get", "R"], "runs output": ["runs", "output", "R"],
    "runs tree": ["runs", "tree", "R"],
    "approvals list": ["approvals", "list", "--job", "J"], "approvals get": ["approvals", "get", "A"],
    "msg send": ["msg", "send", "a", "b", "hi", "--metadata", "F"], "msg thread": ["msg", "thread", "M"],
    "msg read": ["msg", "read", "M"], "msg ack": ["msg", "ack", "M"], "msg receipts": ["msg", "receipts", "M"],
    "tasks create": ["tasks", "create", "F"], "tasks status": ["tasks", "status", "T"],
    "tasks heartbeat": ["tasks", "heartbeat", "T", "worker-1", "running"],
    "alias remove": ["alias", "remove", "N"], "agents get": ["agents", "get", "N"],
    "dispatch status": ["dispatch", "status", "N"], "dispatch result": ["dispatch", "result", "--label", "N"],
    "dispatch done": ["dispatch", "done", "--label", "N"],
    "enqueue": ["enqueue", "--label", "x", "--message-file", "P"],
    "jobs next": ["jobs", "next", "J"], "apply": ["apply", "P"], "restore": ["restore", "P"],
    "import openclaw-scheduler": ["import", "openclaw-scheduler", "P"],
    "import openclaw-cron": ["import", "openclaw-cron", "P"],
    "tasks register-session": ["tasks", "register-session", "T", "worker-1", "agent:main:sub:1"],
    "dispatch heartbeat": ["dispatch", "heartbeat", "--label", "N"],
    "jobs pause": ["jobs", "pause", "J", "--reason", "maintenance"], "jobs resume": ["jobs", "resume", "J"],
    "jobs history": ["jobs", "history", "J"],
    "idem status": ["idem", "status", "J"], "approvals pending": ["approvals", "pending", "--job", "J"],
}
JSON_FILES = {"apply", "import openclaw-cron"}  # commands whose plain file argument is JSON (or YAML)
# Commands that take no input that can be wrong in these ways (they are still run, with --json, below).
NO_INPUT = {"jobs list", "runs running", "runs stale", "msg inbox", "msg outbox", "msg unread", "msg readall",
            "tasks list", "tasks history", "alias add", "alias list", "agents list", "agents register",
            "dispatch list", "dispatch stuck", "dispatch send", "schema jobs", "schema runs", "db upgrade",
            "status", "version", "backup", "export", "service install", "service uninstall", "capabilities",
            "idem check", "idem release", "idem prune", "queue list", "queue clear", "queue prune", "schema all",
            "schema approvals", "schema dispatches", "schema messages", "list"}
LONG_RUNNING = {"up", "worker", "beat", "api", "flower", "demo"}

KIND_FOR = {"J": "job", "R": "run", "A": "approval", "M": "message", "T": "tracker"}
PREFIX = "abcd"


def _leaves(group: click.Group, ctx: click.Context, path: str = "") -> set[str]:
    found = set()
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        full = f"{path} {name}".strip()
        found |= _leaves(sub, ctx, full) if isinstance(sub, click.Group) else {full}
    return found


def test_the_table_names_every_command():
    leaves = _leaves(cli, click.Context(cli)) - LONG_RUNNING
    assert leaves == set(EVERY_COMMAND) | NO_INPUT


@pytest.fixture
def ambiguous(store) -> dict[str, str]:
    """Two of each kind of object whose ids share the prefix ``abcd``."""
    made = [jobs.create(store, {**SHELL, "id": f"{PREFIX}{n}" * 4, "name": f"twin {n}"}) for n in "12"]
    with store.session() as s:
        for n, job in zip("12", made, strict=True):
            run_id = f"{PREFIX}{n}" * 8
            s.execute(insert(RUNS).values({**follow_up(job, trigger=Trigger.MANUAL, now=job.created_at), "id": run_id}))
            s.execute(insert(APPROVALS).values(id=run_id, job_id=job.id, run_id=run_id))
            s.execute(insert(MESSAGES).values(id=run_id, from_agent="a", to_agent="b", body="hi"))
            s.execute(insert(TASK_TRACKER).values(id=run_id, name=f"tracker {n}"))
    return {"J": PREFIX, "R": PREFIX, "A": PREFIX, "M": PREFIX, "T": PREFIX}


def _files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "bad.json").write_text('{"name": ')
    (tmp_path / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    (tmp_path / "list.json").write_text("[1, 2]")
    return {"missing file": str(tmp_path / "nowhere" / "spec.json"), "directory": str(tmp_path),
            "bad JSON": str(tmp_path / "bad.json"), "not UTF-8": str(tmp_path / "latin1.json"),
            "not an object": str(tmp_path / "list.json")}


def _argv(template: list[str], fill: dict[str, str]) -> list[str] | None:
    if not any(slot in fill for slot in template):
        return None
    return [fill.get(slot, _valid(slot)) for slot in template]


def _valid(slot: str) -> str:
    """A placeholder this case is not about: a well-formed value (the command then fails on the other)."""
    return {"F": json.dumps(SHELL), "P": "/dev/null"}.get(slot, slot if len(slot) > 1 else "absent-0000")


def _invoke(settings: Any, argv: list[str], as_json: bool) -> Any:
    args = [*argv, "--json"] if as_json else argv
    return CliRunner().invoke(cli, args, obj=CliContext(settings))


def _problems(settings: Any, case: str, argv: list[str], expect: int, words: str) -> list[str]:
    """What is wrong with this case's answer, human and --json (empty: all is well)."""
    wrong = []
    human = _invoke(settings, argv, as_json=False)
    if human.exit_code != expect or not isinstance(human.exception, SystemExit | None):
        wrong.append(f"{case} {argv}: exit {human.exit_code} ({human.exception!r}): {human.output}")
    elif "Traceback" in human.output or human.stderr.count("\n") < 1 or not human.stderr.startswith("error: "):
        wrong.append(f"{case} {argv}: not one error line: {human.output!r}")
    elif words not in human.stderr:
        wrong.append(f"{case} {argv}: {words!r} not in {human.stderr!r}")
    answer = _invoke(settings, argv, as_json=True)
    try:
        body = json.loads(answer.stdout)
    except json.JSONDecodeError:
        return [*wrong, f"{case} {argv} --json: not JSON: {answer.output!r}"]
    if answer.exit_code != expect or body.get("ok") is not False or body["error"]["exit"] != expect:
        wrong.append(f"{case} {argv} --json: exit {answer.exit_code}: {body}")
    return wrong


FILE_CASES = {"missing file": "does not exist", "directory": "is a directory", "bad JSON": "not valid JSON",
              "not UTF-8": "not UTF-8", "not an object": "must be a JSON object"}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_every_command_given_a_bad_file_says_so_in_one_line_and_exits_2(settings, store, redis, tmp_path, case):
    path = _files(tmp_path)[case]
    problems = []
    for name, template in EVERY_COMMAND.items():
        fill = {"F": f"@{path}"} if "F" in template else {"P": path} if "P" in template else {}
        json_file = name in JSON_FILES and case in ("bad JSON", "not UTF-8")
        if "P" in fill and case not in ("missing file", "directory") and not json_file:
            continue  # a prompt, a backup, a peer's database: not JSON (a peer's list of jobs may hold anything)
        argv = _argv(template, fill)
        if argv is not None:
            problems += _problems(settings, case, argv, 2, FILE_CASES[case] if "F" in fill else "")
    assert problems == []


def test_inline_bad_json_exits_2_naming_the_argument(settings, store, redis):
    problems = []
    for template in EVERY_COMMAND.values():
        if "F" in template:
            problems += _problems(settings, "inline", _argv(template, {"F": "{nope"}) or [], 2, "not valid JSON")
    assert problems == []


def test_every_command_given_an_unknown_id_exits_3_naming_it(settings, store, redis):
    problems = []
    for template in EVERY_COMMAND.values():
        fill = {slot: "0000ffff0000" for slot in (*KIND_FOR, "N")}
        argv = _argv(template, fill)
        if argv is not None:
            problems += _problems(settings, "unknown id", argv, 3, "0000ffff0000")
    assert problems == []


def test_every_command_given_an_ambiguous_prefix_exits_2_listing_the_candidates(settings, store, redis,
                                                                                ambiguous):
    problems = []
    for name, template in EVERY_COMMAND.items():
        argv = _argv(template, ambiguous)
        if argv is None:
            continue
        problems += _problems(settings, "ambiguous", argv, 2, "matches several")
        body = json.loads(_invoke(settings, argv, as_json=True).stdout)
        if len(body["error"].get("candidates", [])) != 2:
            problems.append(f"{name}: candidates {body['error']}")
    assert problems == []


def test_a_unique_prefix_is_the_object(settings, store, redis, ambiguous):
    run_id = f"{PREFIX}2" * 8
    got = json.loads(_invoke(settings, ["runs", "get", run_id[:12]], as_json=True).stdout)
    assert got["id"] == run_id
    job = json.loads(_invoke(settings, ["jobs", "get", "abcd1a"[:5]], as_json=True).stdout)
    assert job["id"] == f"{PREFIX}1" * 4 and job["name"] == "twin 1"


def test_commands_without_input_answer_json_too(settings, store, redis):
    for argv in (["jobs", "list"], ["runs", "running"], ["alias", "list"], ["agents", "list"], ["tasks", "list"],
                 ["schema", "runs"], ["version"], ["status"]):
        result = _invoke(settings, argv, as_json=True)
        assert result.exit_code == 0, (argv, result.output)
        json.loads(result.stdout)


def test_a_usage_error_under_json_is_json_with_exit_2(settings):
    result = CliRunner().invoke(cli, ["--json", "jobs", "list", "--type", "bogus"], obj=CliContext(settings))
    body = json.loads(result.stdout)
    assert result.exit_code == 2 and body["ok"] is False and "bogus" in body["error"]["message"]


def test_the_installed_command_prints_one_line_and_no_traceback(settings, tmp_path):
    env = {**os.environ, "CLAWSCHED_HOME": str(settings.home), "CLAWSCHED_DATABASE_URL": settings.database_url}
    env.pop("CLAWSCHED_REDIS_URL", None)
    for arg, words in ((f"@{tmp_path}/missing.json", "does not exist"), (f"@{tmp_path}", "is a directory")):
        done = subprocess.run([sys.executable, "-m", "clawsched.cli", "jobs", "add", arg], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_a_database_behind_the_code_names_db_upgrade(tmp_path, redis_url):
    import sqlite3

    from clawsched.sched.settings import Settings

    old = tmp_path / "old.db"
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE jobs (id TEXT, name TEXT, created_at TEXT)")  # a jobs table from before a migration
    db.execute("CREATE TABLE runs (id TEXT, job_id TEXT, status TEXT)")
    db.commit()
    behind = Settings(home=tmp_path, database_url=f"sqlite:///{old}", redis_url=redis_url)
    for as_json in (False, True):
        result = _invoke(behind, ["jobs", "list"], as_json)
        assert result.exit_code == 6 and "clawsched db upgrade" in result.output, result.output
        assert "Traceback" not in result.output
