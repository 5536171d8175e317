"""Every metric clawsched serves is documented in docs/metrics.md, and the starter alert rules in
deploy/prometheus-alerts.yml parse and use only metrics that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from clawsched.sched import metrics

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus-alerts.yml"
DOCS = ROOT / "docs" / "metrics.md"
SUFFIXES = ("_bucket", "_count", "_sum")


def served_names(settings: Any) -> set[str]:
    """What a scrape shows of every process kind: worker, beat, and the fleet with the gateway gauge."""
    registry = CollectorRegistry()
    metrics.WorkerMetrics(registry)
    metrics.BeatMetrics(registry)
    registry.register(metrics.FleetCollector(settings))
    registry.register(metrics.gateway_probe(lambda: True))
    return {f"{family.name}_total" if family.type == "counter" else family.name for family in registry.collect()}


def test_every_served_metric_is_documented(settings, redis):
    names = served_names(settings)
    assert {"clawsched_runs_total", "celery_task_failed_total", "clawsched_run_lateness_seconds",
            "celery_queue_length", "celery_worker_up", "clawsched_beat_claim_lag_seconds"} <= names
    documented = set(re.findall(r"\| `((?:clawsched|celery)_[a-z_]+)` \|", DOCS.read_text()))
    assert names - documented == set(), "served but not documented in docs/metrics.md"
    assert documented - names == set(), "documented but not served"


def test_the_starter_alert_rules_parse_and_use_served_metrics(settings, redis):
    rules = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    assert len(rules) >= 8 and len({r["alert"] for r in rules}) == len(rules)
    names = served_names(settings)
    for rule in rules:
        assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"]
        used = {_family(n) for n in re.findall(r"\b(?:clawsched|celery)_[a-z_]+", rule["expr"])}
        assert used and used <= names, (rule["alert"], used - names)
    if shutil.which("promtool"):  # the real checker, where it is installed
        checked = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def _family(sample: str) -> str:
    for suffix in SUFFIXES:
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample
