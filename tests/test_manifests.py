"""Schedules as code: `clawsched apply` of agentcli manifests and `clawsched export`, on both databases."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from clawsched.sched import jobs

# seed 004, "Working with agentcli": the three-task deploy pipeline, verbatim
SEED = {"version": "0.1", "workflows": [{"id": "deploy-pipeline", "name": "Deploy Pipeline", "tasks": [
    {"id": "build", "name": "Build", "shell": {"program": "sh", "args": ["-c", "npm run build"]},
     "target": {"session_target": "shell"}, "schedule": {"cron": "0 2 * * *"}, "runtime": {"timeout_ms": 600000}},
    {"id": "deploy", "name": "Deploy", "shell": {"program": "sh", "args": ["-c", "fly deploy"]},
     "target": {"session_target": "shell"}, "trigger": {"parent": "build", "on": "success"},
     "runtime": {"timeout_ms": 300000}},
    {"id": "verify", "name": "Post-Deploy Verify", "prompt": "Verify all services are healthy after deploy.",
     "target": {"session_target": "isolated", "agent_id": "main"}, "trigger": {"parent": "deploy", "on": "success"},
     "runtime": {"timeout_ms": 300000},
     "delivery": {"mode": "announce-always", "channel": "telegram", "to": "YOUR_CHAT_ID"}},
]}]}


def sid(workflow: str, task: str) -> str:
    return hashlib.sha256(f"{workflow}:{task}".encode()).hexdigest()


@pytest.fixture
def write(tmp_path: Path):
    def put(manifest: Any, name: str = "m.json") -> str:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(manifest) if name.endswith(".yaml") else json.dumps(manifest))
        return str(path)

    return put


def plan_of(run_cli, *args: str, expect: int = 0) -> dict[str, Any]:
    return json.loads(run_cli("apply", *args, "--json", expect=expect).output)


def test_apply_seed_manifest_creates_the_chain_and_a_second_apply_changes_nothing(run_cli, write, store):
    path = write(SEED)
    first = plan_of(run_cli, path)
    assert first["summary"] == {"create": 3, "update": 0, "adopt": 0, "remove": 0, "unchanged": 0}
    build, deploy, verify = (jobs.get(store, sid("deploy-pipeline", t)) for t in ("build", "deploy", "verify"))
    assert (build.parent_id, deploy.parent_id, verify.parent_id) == (None, build.id, deploy.id)
    assert (deploy.trigger_on, verify.trigger_on) == ("success", "success")
    assert build.schedule_cron == "0 2 * * *" and build.next_run_at is not None and deploy.next_run_at is None
    assert build.payload_message == "npm run build" and build.run_timeout_ms == 600000
    assert verify.delivery_mode == "announce-always" and verify.delivery_to == "YOUR_CHAT_ID"
    stamps = {j.id: j.updated_at for j in jobs.list_jobs(store)}
    second = plan_of(run_cli, path)
    assert second["changed"] is False and second["summary"]["unchanged"] == 3
    assert "no changes" in run_cli("apply", path).output
    assert {j.id: j.updated_at for j in jobs.list_jobs(store)} == stamps
    assert "Post-Deploy Verify [→success]" in run_cli("jobs", "tree").output


def test_dry_run_after_editing_one_task_shows_exactly_that_change_and_writes_nothing(run_cli, write, store):
    run_cli("apply", write(SEED))
    edited = copy.deepcopy(SEED)
    edited["workflows"][0]["tasks"][1]["shell"]["args"][1] = "fly deploy --remote-only"
    path = write(edited, "edited.yaml")
    plan = plan_of(run_cli, path, "--dry-run")
    changed = [i for i in plan["items"] if i["action"] != "unchanged"]
    assert plan["dryRun"] is True and [i["task"] for i in changed] == ["deploy"]
    assert changed[0]["changes"] == {"payload_message": {"from": "fly deploy", "to": "fly deploy --remote-only"}}
    assert jobs.get(store, sid("deploy-pipeline", "deploy")).payload_message == "fly deploy"
    text = run_cli("apply", path, "--dry-run").output
    assert '~ update deploy-pipeline/deploy' in text and '"fly deploy" -> "fly deploy --remote-only"' in text
    assert plan_of(run_cli, path)["summary"]["update"] == 1
    assert jobs.get(store, sid("deploy-pipeline", "deploy")).payload_message == "fly deploy --remote-only"


def test_apply_is_all_or_nothing(run_cli, write, store):
    run_cli("apply", write(SEED))
    before = {j.id: jobs.as_dict(j) for j in jobs.list_jobs(store)}
    bad = copy.deepcopy(SEED)
    bad["workflows"][0]["tasks"][0]["runtime"]["timeout_ms"] = 900000  # a valid change...
    bad["workflows"][0]["tasks"].append({"id": "new", "prompt": "hi", "schedule": {"cron": "0 3 * * *"}})
    bad["workflows"][0]["tasks"].append({"id": "broken", "prompt": "x", "schedule": {"cron": "99 * * * *"}})
    body = json.loads(run_cli("apply", write(bad), "--json", expect=2).output)
    assert body["ok"] is False and any(e["field"].startswith("workflows[0].tasks[4].schedule_cron")
                                       for e in body["errors"])
    orphan = copy.deepcopy(SEED)
    orphan["workflows"][0]["tasks"].append({"id": "o", "prompt": "x", "clawsched": {
        "parent_id": "no-such-job", "trigger_on": "success"}})
    assert "no-such-job" in run_cli("apply", write(orphan), expect=2).output
    assert {j.id: jobs.as_dict(j) for j in jobs.list_jobs(store)} == before


def test_export_then_apply_is_a_no_op_and_keeps_secrets(run_cli, write, store):
    extra = copy.deepcopy(SEED)
    extra["workflows"].append({"id": "reports", "tasks": [
        {"id": "daily", "name": "Daily report", "prompt": "Summarise yesterday.",
         "schedule": {"cron": "0 9 * * *", "tz": "America/New_York"}, "enabled": False,
         "delivery": {"mode": "webhook", "to": "https://example.com/hook"},
         "clawsched": {"payload_model": "openai/gpt-5", "delivery_secret": "s3cret", "max_retries": 2}},
        {"id": "alert", "prompt": "Alert the team.", "trigger": {"parent": "daily", "on": "failure",
                                                                 "delay_s": 60, "condition": "contains:ALERT"},
         "delivery": {"mode": "announce", "channel": "telegram", "to": "-100123"}},
    ]})
    run_cli("apply", write(extra))
    for fmt in ("json", "yaml"):
        exported = run_cli("export", "--format", fmt).output
        assert "s3cret" not in exported
        path = write(json.loads(exported) if fmt == "json" else yaml.safe_load(exported), f"export.{fmt}")
        plan = plan_of(run_cli, path)
        assert plan["changed"] is False and plan["summary"]["unchanged"] == 5, plan
    assert jobs.get(store, sid("reports", "daily")).delivery_secret == "s3cret"
    one = json.loads(run_cli("export", "--workflow", "reports").output)
    assert [w["id"] for w in one["workflows"]] == ["reports"]


def test_prune_removes_only_the_manifests_own_jobs_it_no_longer_names(run_cli, write, store):
    run_cli("apply", write(SEED))
    run_cli("jobs", "add", json.dumps({"name": "hand made", "schedule_cron": "0 1 * * *", "payload_message": "x"}))
    other = {"version": "0.1", "workflows": [{"id": "other", "tasks": [
        {"id": "t", "prompt": "x", "schedule": {"cron": "0 4 * * *"}}]}]}
    run_cli("apply", write(other, "other.json"))
    shorter = copy.deepcopy(SEED)
    del shorter["workflows"][0]["tasks"][1:]
    assert plan_of(run_cli, write(shorter))["summary"]["remove"] == 0  # no --prune: nothing goes
    plan = plan_of(run_cli, write(shorter), "--prune", "--dry-run")
    assert sorted(i["task"] for i in plan["items"] if i["action"] == "remove") == ["deploy", "verify"]
    assert len(jobs.list_jobs(store)) == 5
    plan_of(run_cli, write(shorter), "--prune")
    names = sorted(j.name for j in jobs.list_jobs(store))
    assert names == ["Build", "hand made", "t"]
    assert "1 job(s) not managed by a manifest" in run_cli("export").stderr


@pytest.mark.parametrize(("change", "named"), [
    (lambda m: m["workflows"][0]["tasks"][0].update(colour="red"), "workflows[0].tasks[0].colour: unknown field"),
    (lambda m: m.update(version="0.2"), "v0.2"),
    (lambda m: m["workflows"][0]["tasks"][0].update(trigger={"parent": "verify"}, schedule=None), "is a cycle"),
    (lambda m: m["workflows"][0]["tasks"][1]["trigger"].update(parent="nope"), "tasks[1].trigger.parent: no task"),
    (lambda m: m["workflows"][0]["tasks"][2].pop("prompt"), "give exactly one of prompt or shell"),
])
def test_a_bad_manifest_is_refused_naming_the_field(run_cli, write, store, change, named):
    manifest = copy.deepcopy(SEED)
    change(manifest)
    if manifest["workflows"][0]["tasks"][0].get("schedule", 1) is None:
        del manifest["workflows"][0]["tasks"][0]["schedule"]
    out = run_cli("apply", write(manifest), expect=2).output
    assert named in out and "Traceback" not in out
    assert jobs.list_jobs(store) == []
    assert "cannot be read" in run_cli("apply", "/nonexistent.yaml", expect=2).output


def test_adopt_by_name_takes_over_jobs_with_their_history(run_cli, write, store):
    from clawsched.sched import runs

    build = jobs.create(store, {"name": "Build", "schedule_cron": "0 2 * * *", "session_target": "shell",
                                "payload_message": "make", "run_timeout_ms": 600000})
    deploy = jobs.create(store, {"name": "Deploy", "parent_id": build.id, "trigger_on": "success",
                                 "session_target": "shell", "payload_message": "fly deploy", "run_timeout_ms": 300000})
    run_id = jobs.run_now(store, build.id)
    path = write(SEED)
    preview = plan_of(run_cli, path, "--adopt-by", "name", "--dry-run")
    actions = {i["task"]: i["action"] for i in preview["items"]}
    assert actions == {"build": "adopt", "deploy": "adopt", "verify": "create"}
    build_item = next(i for i in preview["items"] if i["task"] == "build")
    assert build_item["changes"]["id"] == {"from": build.id, "to": sid("deploy-pipeline", "build")}
    assert build_item["changes"]["payload_message"] == {"from": "make", "to": "npm run build"}
    assert jobs.get(store, build.id).name == "Build"  # the dry run moved nothing
    plan_of(run_cli, path, "--adopt-by", "name")
    new_build, new_deploy = jobs.get(store, sid("deploy-pipeline", "build")), jobs.get(store, sid("deploy-pipeline",
                                                                                                 "deploy"))
    assert new_deploy.parent_id == new_build.id and new_build.origin == "manifest:deploy-pipeline/build"
    assert runs.get(store, run_id).job_id == new_build.id  # the history came along
    assert {j.id for j in jobs.list_jobs(store)}.isdisjoint({build.id, deploy.id})
    assert plan_of(run_cli, path)["changed"] is False


def test_adopt_by_name_refuses_an_ambiguous_name(run_cli, write, store):
    for _ in range(2):
        jobs.create(store, {"name": "Build", "schedule_cron": "0 2 * * *", "payload_message": "x"})
    assert "2 jobs are named 'Build'" in run_cli("apply", write(SEED), "--adopt-by", "name", expect=2).output
    assert len(jobs.list_jobs(store)) == 2


def test_the_yaml_of_the_docs_applies_as_written(run_cli, tmp_path, store):
    """docs/manifests.md's pipeline as hand-written YAML: ``on: success`` is the key "on" (YAML 1.1 made it
    True), and an export of nothing applies as no change."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "manifests.md").read_text()
    text = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "on: success" in text
    (tmp_path / "deploy.yaml").write_text(text)
    plan = plan_of(run_cli, str(tmp_path / "deploy.yaml"))
    assert plan["summary"]["create"] == 3
    assert jobs.get(store, sid("deploy-pipeline", "verify")).trigger_on == "success"
    (tmp_path / "empty.yaml").write_text(run_cli("export", "--format", "yaml", "--workflow", "none").output)
    assert plan_of(run_cli, str(tmp_path / "empty.yaml"))["changed"] is False
