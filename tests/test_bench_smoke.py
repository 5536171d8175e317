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
BENCHES = {"dispatch", "throughput", "chain", "burst", "beat", "cli", "embedded"}


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
