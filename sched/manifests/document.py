"""The manifest as written: read YAML or JSON, validate its shape, name every bad field by its path.

The shape is agentcli v0.1 (``version``, ``workflows[].tasks[]`` with ``prompt`` or ``shell``,
``target``, ``schedule``, ``runtime``, ``delivery``, ``trigger: {parent, on}``), plus one extension:
``clawsched``, a task's flat job fields that the manifest has no place for (``env``, ``payload_model``,
``approval_required``...), so every job a manifest describes, and every job ``export`` writes, fits.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clawsched.sched.errors import SpecError

KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # no '/' or ':': the origin and the id seed are built from them
_V02 = {"identity", "contract", "identity_profiles", "authorization", "evidence", "credentials"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Shell(_Strict):
    program: str = Field(min_length=1)
    args: list[str] = []


class Target(_Strict):
    session_target: Literal["isolated", "main", "shell", "session"] | None = None
    agent_id: str | None = None
    session_id: str | None = None


class Schedule(_Strict):
    cron: str | None = None
    tz: str | None = None
    at: str | None = None
    every_ms: int | None = None


class Runtime(_Strict):
    timeout_ms: int | None = None
    max_retries: int | None = None
    overlap_policy: str | None = None


class Delivery(_Strict):
    mode: str | None = None
    channel: str | None = None
    to: str | None = None
    guarantee: str | None = None


class Trigger(_Strict):
    parent: str = Field(pattern=KEY, max_length=128)
    on: Literal["success", "failure", "complete"] = "success"
    delay_s: int | None = None
    condition: str | None = None


class Task(_Strict):
    id: str = Field(pattern=KEY, max_length=128)
    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    prompt: str | None = None
    shell: Shell | None = None
    target: Target = Target()
    schedule: Schedule | None = None
    runtime: Runtime = Runtime()
    delivery: Delivery | None = None
    trigger: Trigger | None = None
    clawsched: dict[str, Any] = {}


class Workflow(_Strict):
    id: str = Field(pattern=KEY, max_length=128)
    name: str | None = None
    description: str | None = None
    tasks: list[Task] = Field(min_length=1)


class Manifest(_Strict):
    version: Literal["0.1"]
    workflows: list[Workflow] = []  # an empty manifest (an export of no managed jobs) applies as no change


def load(text: str, source: str = "manifest") -> Manifest:
    """Parse ``text`` (JSON, or YAML when it is not JSON) and validate it; a SpecError lists every problem."""
    data = _decode(text, source)
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping with version and workflows, got {type(data).__name__}",
                        field="manifest")
    _refuse_v02(data, source)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": _path(e["loc"]), "message": _message(e)} for e in exc.errors()]
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise SpecError(f"{source} is not a valid manifest: {lines}", errors=errors) from None
    _check_tasks(manifest, source)
    return manifest


def _decode(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is a dependency
        raise SpecError(f"{source} is not JSON, and YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.load(text, Loader=_yaml12_loader(yaml))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise SpecError(f"{source} is neither valid JSON nor valid YAML{where}: "
                        f"{getattr(exc, 'problem', None) or exc}", field="manifest") from None


def _yaml12_loader(yaml: Any) -> Any:
    """PyYAML's safe loader with YAML 1.2 booleans: ``on: success`` (agentcli's trigger) is the key "on",
    not True, and yes/no/on/off stay strings; only true and false are booleans."""
    bool_tag = "tag:yaml.org,2002:bool"

    class Loader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        pass

    Loader.yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in found if tag != bool_tag]
                                      for first, found in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return Loader


def _refuse_v02(data: dict[str, Any], source: str) -> None:
    """v0.2 identity and trust are enforced at dispatch by the peer; clawsched does not, so it says so."""
    found = {k for k in data if k in _V02}
    for wf in data.get("workflows") or []:
        for task in (wf.get("tasks") or []) if isinstance(wf, dict) else []:
            found |= {k for k in task if k in _V02} if isinstance(task, dict) else set()
    if data.get("version") == "0.2" or found:
        named = ", ".join(sorted(found)) or "version 0.2"
        raise SpecError(f"{source}: {named}: agentcli v0.2 identity, trust and credential handoff are not "
                        "applied by clawsched; write a v0.1 manifest (docs/manifests.md)", field="version")


def _check_tasks(manifest: Manifest, source: str) -> None:
    errors: list[dict[str, str]] = []
    seen_wf: set[str] = set()
    for w, wf in enumerate(manifest.workflows):
        if wf.id in seen_wf:
            errors.append({"field": f"workflows[{w}].id", "message": f"workflow {wf.id!r} appears twice"})
        seen_wf.add(wf.id)
        ids = [t.id for t in wf.tasks]
        for t, task in enumerate(wf.tasks):
            at = f"workflows[{w}].tasks[{t}]"
            if ids.count(task.id) > 1 and ids.index(task.id) != t:
                errors.append({"field": f"{at}.id", "message": f"task {task.id!r} appears twice in {wf.id!r}"})
            if (task.prompt is None) == (task.shell is None):
                errors.append({"field": at, "message": "give exactly one of prompt or shell"})
            if task.trigger and task.trigger.parent not in ids:
                errors.append({"field": f"{at}.trigger.parent", "message": f"no task {task.trigger.parent!r} "
                               f"in workflow {wf.id!r}; a parent is a task of the same workflow"})
            if task.trigger and task.schedule:
                errors.append({"field": f"{at}.schedule", "message": "a triggered task runs when its parent "
                               "finishes and has no schedule; remove one of schedule or trigger"})
    if errors:
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise SpecError(f"{source} is not a valid manifest: {lines}", errors=errors)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "manifest"


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return "may contain only letters, digits and . _ - (starting with a letter or digit)"
    return str(err.get("msg", "is not valid"))
