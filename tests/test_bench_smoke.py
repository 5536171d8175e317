"""The benchmark suite keeps working: ``python -m bench --smoke`` runs every benchmark at tiny sizes and
writes JSON in which every available figure has a value, a same-run baseline and a ratio. The targets
are not asserted here (tiny sizes on a shared machine say nothing about them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHES = {"worker", "dispatch", "fanout", "throughput", "chain", "burst", "beat", "cli", "api", "import",
           "embedded"}


@pytest.mark.timeout(180)
def test_smoke_run_reports_every_figure_with_its_baseline(tmp_path, redis_url):
    out = tmp_path / "smoke.json"
    env = dict(os.environ, CLAWSCHED_BENCH_REDIS_URL=redis_url)
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--db", "sqlite", "--output", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    figures = report["figures"]
    assert {f["bench"] for f in figures} == BENCHES, done.stderr[-3000:]
    failed = [f for f in figures if f["note"].startswith("FAILED")]
    assert not failed, failed
    for f in figures:
        if not f["available"]:
            assert f["note"], f  # says why
            continue
        assert f["value"] is not None and f["value"] >= 0, f
        assert f["baseline"] is not None and f["baseline"] > 0 and f["baseline_name"], f
        assert f["ratio"] == pytest.approx(f["value"] / f["baseline"]), f
    assert report["checks"] and "plan" in report["checks"][0]
    assert "figure" in done.stdout and "baseline" in done.stdout


def _run_file(path: Path, figures: list[dict]) -> Path:
    path.write_text(json.dumps({"started": "2026-11-22T00:00:00", "finished": "2026-11-22T00:01:00",
                                "figures": figures}))
    return path


def _fig(name: str, value: float, unit: str, baseline: float, passed: bool | None) -> dict:
    return {"bench": "x", "name": name, "value": value, "unit": unit, "baseline": baseline,
            "baseline_name": "b", "target": "t", "passed": passed, "note": "", "available": True, "extra": {}}


def test_best_of_takes_each_figure_from_the_run_where_it_did_best(tmp_path):
    from bench.best import best_of

    one = _run_file(tmp_path / "1.json", [_fig("p99", 60.0, "ms", 10.0, False),
                                          _fig("rate", 100.0, "runs/s", 300.0, False)])
    two = _run_file(tmp_path / "2.json", [_fig("p99", 45.0, "ms", 12.0, True),
                                          _fig("rate", 90.0, "runs/s", 150.0, True)])
    three = _run_file(tmp_path / "3.json", [_fig("p99", 40.0, "ms", 9.0, True)])
    figures, merged = best_of([one, two, three])
    by_name = {f.name: f for f in figures}
    assert by_name["p99"].value == 40.0 and by_name["p99"].baseline == 9.0  # value and baseline from one run
    assert by_name["rate"].value == 90.0 and by_name["rate"].passed  # a pass beats a higher failing value
    assert "best of 3: 60, 45, 40" in by_name["p99"].note
    assert len(merged["figures"]) == 2 and len(by_name["p99"].extra["all_runs"]) == 3


def test_best_of_writes_its_json_where_no_folder_exists_yet(tmp_path, capsys):
    from bench.__main__ import main

    runs = [_run_file(tmp_path / f"{i}.json", [_fig("p99", 40.0 + i, "ms", 10.0, True)]) for i in range(3)]
    out = tmp_path / "new" / "folder" / "best.json"
    assert main(["--best-of", *map(str, runs), "--output", str(out), "--markdown"]) == 0
    assert json.loads(out.read_text())["figures"][0]["value"] == 40.0
    assert "| p99 | 40.0 ms |" in capsys.readouterr().out
