"""``python -m bench``: run the benchmark suite, print the table, write JSON to ``bench/results/``.

    python -m bench                     # every benchmark, SQLite and PostgreSQL, full sizes
    python -m bench --smoke             # tiny sizes (< 60 s), what tests/test_bench_smoke.py runs
    python -m bench --db sqlite --only dispatch,cli --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .harness import DEFAULT_PG_URL, DEFAULT_REDIS_URL, REPO, Env, Figure, postgres_available, redis_server

BENCHES = ("worker", "dispatch", "fanout", "throughput", "chain", "burst", "beat", "cli", "api", "import",
           "embedded")


@dataclass(frozen=True)
class Sizes:
    job_counts: tuple[int, ...] = (10, 1_000, 10_000, 100_000)
    fires: int = 500
    manual: int = 500
    spacing_s: float = 0.05  # between fires: each run ends before the next fire, so the worker stays idle
    throughput: int = 1_000
    throughput_rounds: int = 3  # bare Celery and clawsched alternate; each keeps its best round
    chain_hops: int = 200
    fanout: tuple[int, ...] = (20, 200)  # jobs due on the same second
    fanout_rounds: int = 10  # each side; p50/p99 over N x rounds runs
    burst: tuple[int, ...] = (10_000, 100_000)
    beat_jobs: tuple[int, ...] = (100, 10_000, 100_000, 1_000_000)
    beat_window_s: float = 20.0  # at least 1 s: the due jobs fire once a second, a shorter window can miss all
    beat_warmup_s: float = 3.0
    worker_runs: int = 20_000  # worker RSS after this many runs ...
    worker_base_runs: int = 1_000  # ... beside its RSS after this many (issue 20: <= 1.1x)
    cli_jobs: int = 1_000
    cli_repeats: int = 7
    up_repeats: int = 3
    api_requests: int = 300  # sequential rounds of /health, cron.add, cron.run and a `jobs run`
    import_runs: int = 100_000  # runs in the peer's scheduler.db that `import openclaw-scheduler` brings over


SMOKE = Sizes(job_counts=(10, 200), fires=10, manual=10, spacing_s=0.05, throughput=20, throughput_rounds=1,
              chain_hops=5, fanout=(6,), fanout_rounds=1, burst=(100,),
              beat_jobs=(20, 2_000), beat_window_s=1.0, beat_warmup_s=0.5, worker_runs=40, worker_base_runs=10,
              cli_jobs=50, cli_repeats=2, up_repeats=1, api_requests=10, import_runs=2_000)


def machine() -> dict[str, Any]:
    import celery
    import redis
    import sqlalchemy

    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpus": os.cpu_count(), "celery": celery.__version__, "sqlalchemy": sqlalchemy.__version__,
                            "redis_py": redis.__version__}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line)
        info["mem_gb"] = round(int(open("/proc/meminfo").readline().split()[1]) / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return info


def run_db(db: str, sizes: Sizes, only: set[str], redis_url: str, pg_url: str, report: dict[str, Any],
           figures: list[Figure], save: Any) -> None:
    env = Env(db, redis_url, pg_url, label=db[:2])
    try:
        if only & {"worker", "dispatch", "fanout", "throughput", "chain", "burst", "api"}:
            env.start_worker(concurrency=2)
        rates: dict[str, float] = {}
        steps = [
            # first: it measures the worker just started, before any other benchmark has used it
            ("worker", lambda: __import__("bench.worker_rss", fromlist=["run"]).run(
                env, sizes.worker_runs, sizes.worker_base_runs)),
            ("dispatch", lambda: __import__("bench.dispatch", fromlist=["run"]).run(
                env, list(sizes.job_counts), sizes.fires, sizes.manual, sizes.spacing_s)),
            ("fanout", lambda: __import__("bench.fanout", fromlist=["run"]).run(
                env, list(sizes.fanout), sizes.fanout_rounds)),
            ("throughput", lambda: _throughput(env, sizes, rates)),
            ("chain", lambda: __import__("bench.chains", fromlist=["run"]).run(env, sizes.chain_hops, sizes.spacing_s)),
            ("burst", lambda: __import__("bench.burst", fromlist=["run"]).run(env, list(sizes.burst), rates)),
            ("beat", lambda: _beat(env, sizes, report)),
            ("cli", lambda: __import__("bench.cli_wall", fromlist=["run"]).run(env, sizes.cli_jobs, sizes.cli_repeats)),
            ("api", lambda: __import__("bench.api_latency", fromlist=["run"]).run(
                env, sizes.api_requests, sizes.spacing_s)),
            ("import", lambda: __import__("bench.importing", fromlist=["run"]).run(env, sizes.import_runs)),
        ]
        for name, step in steps:
            if name in only:
                figures += _guarded(name, db, step)
                save()  # partial results survive an interrupted run
    finally:
        env.close()


def _throughput(env: Env, sizes: Sizes, rates: dict[str, float]) -> list[Figure]:
    from . import throughput

    figures, measured = throughput.run(env, sizes.throughput, sizes.throughput_rounds)
    rates.update(measured)
    return figures


def _beat(env: Env, sizes: Sizes, report: dict[str, Any]) -> list[Figure]:
    from . import beat_scaling

    figures, plans = beat_scaling.run(env, list(sizes.beat_jobs), sizes.beat_window_s, sizes.beat_warmup_s)
    report.setdefault("checks", []).extend(plans)
    return figures


def _guarded(name: str, db: str, step: Any) -> list[Figure]:
    t0 = time.monotonic()
    print(f"# {name} on {db} ...", file=sys.stderr, flush=True)
    try:
        figures = list(step())
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        figures = [Figure(name, f"{name} ({db})", None, "", note=f"FAILED: {exc}", passed=False)]
    print(f"#   {name} on {db}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    return figures


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def rows(figures: list[Figure]) -> list[list[str]]:
    out = []
    for f in figures:
        verdict = "n/a" if not f.available else {True: "pass", False: "FAIL", None: ""}[f.passed]
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
        value = f"{_fmt(f.value)} {f.unit}" if f.value is not None else "-"
        base = f"{_fmt(f.baseline)} ({f.baseline_name})" if f.baseline is not None else (f.baseline_name or "-")
        out.append([f.name, value, base, ratio, f.target or "-", verdict, f.note])
    return out


HEADER = ["figure", "value", "baseline (same run)", "ratio", "target", "result", "note"]


def table_from_json(path: Path, markdown: bool) -> None:
    """Print the table of a saved run (``--table results/<file>.json``)."""
    report = json.loads(path.read_text())
    fields = set(Figure.__dataclass_fields__)
    print_table([Figure(**{k: v for k, v in f.items() if k in fields}) for f in report["figures"]], markdown)


def print_table(figures: list[Figure], markdown: bool) -> None:
    table = rows(figures)
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for r in table:
            print("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(HEADER)]
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def _override(sizes: Sizes, pairs: list[str], parser: argparse.ArgumentParser) -> Sizes:
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        current = getattr(sizes, key, None)
        if current is None:
            parser.error(f"--set {pair}: no size called {key!r}; see Sizes in bench/__main__.py")
        if isinstance(current, tuple):
            changes[key] = tuple(int(v) for v in raw.split(","))
        else:
            changes[key] = type(current)(raw)
    return replace(sizes, **changes)


def _parser() -> argparse.ArgumentParser:
    """The options are the suite's public interface (the README and tests/test_bench_smoke.py call them)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; checks the suite works (< 60 s)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown (for the README)")
    parser.add_argument("--redis-url", default=os.environ.get("CLAWSCHED_BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--pg-url", default=os.environ.get("CLAWSCHED_BENCH_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--output", type=Path, help="JSON path (default bench/results/<timestamp>.json)")
    parser.add_argument("--set", action="append", default=[], metavar="SIZE=VALUE",
                        help="override a size, e.g. --set fires=100 --set job_counts=10,1000")
    parser.add_argument("--table", type=Path, metavar="JSON", help="print the table of a saved run and exit")
    parser.add_argument("--best-of", nargs="+", type=Path, metavar="JSON",
                        help="merge saved runs: each figure from the run where it did best (bench/best.py)")
    return parser


def _write_best_of(runs: list[Path], output: Path | None, markdown: bool) -> None:
    """Merging saved runs measures nothing, so it needs neither Redis nor a database."""
    from .best import best_of

    merged_figures, merged = best_of(runs)
    out = output or REPO / "bench" / "results" / f"best-of-{len(runs)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)  # runs saved elsewhere leave no results folder
    out.write_text(json.dumps(merged, indent=2, default=str))
    print_table(merged_figures, markdown)
    print(f"\n# JSON: {out}", file=sys.stderr)


def _selected(names: str, parser: argparse.ArgumentParser) -> set[str]:
    """Checked before anything starts, so a misspelt name costs no Redis, database or worker."""
    only = {name.strip() for name in names.split(",") if name.strip()}
    unknown = only - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {', '.join(BENCHES)}")
    return only


def _databases(choice: str, pg_url: str, report: dict[str, Any]) -> list[str]:
    """A PostgreSQL that does not answer is skipped and noted in the report, not fatal: SQLite figures alone
    are still worth having."""
    dbs = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in dbs:
        why = postgres_available(pg_url)
        if why:
            report["notes"].append(why)
            print(f"# {why}; skipping PostgreSQL", file=sys.stderr)
            dbs.remove("postgresql")
    return dbs


def _run_all(dbs: list[str], sizes: Sizes, only: set[str], redis_url: str | None, pg_url: str,
             report: dict[str, Any], out: Path) -> list[Figure]:
    """One Redis serves every database's run; the JSON is rewritten after each benchmark so that an
    interrupted run keeps what it measured."""
    figures: list[Figure] = []

    def save() -> None:
        report["figures"] = [f.as_dict() for f in figures]
        out.write_text(json.dumps(report, indent=2, default=str))

    with redis_server(redis_url) as url:
        report["redis"] = url
        for db in dbs:
            run_db(db, sizes, only, url, pg_url, report, figures, save)
        if "embedded" in only:
            figures += _guarded("embedded", "sqlite", lambda: __import__("bench.embedded", fromlist=["run"]).run(
                sizes.up_repeats))
    report["finished"] = datetime.now(UTC).isoformat()
    save()
    return figures


def _print_checks(report: dict[str, Any]) -> None:
    """A pass on index use is only believable next to the plan that shows it, so the plan is printed whole."""
    for check in report.get("checks", []):
        index = check.get("index", "ix_jobs_due")
        verdict = f"walks {index}" if check["uses_index"] else f"DOES NOT WALK {index}"
        print(f"\nEXPLAIN {check.get('query', 'due query')}, {check['db']}, {check['jobs']:,} jobs: {verdict}\n"
              f"{check['plan']}")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.table:
        table_from_json(args.table, args.markdown)
        return 0
    if args.best_of:
        _write_best_of(args.best_of, args.output, args.markdown)
        return 0
    only = _selected(args.only, parser)
    sizes = _override(SMOKE if args.smoke else Sizes(), args.set, parser)
    started = datetime.now(UTC)
    report: dict[str, Any] = {"started": started.isoformat(), "smoke": args.smoke, "machine": machine(),
                              "sizes": sizes.__dict__, "notes": []}
    dbs = _databases(args.db, args.pg_url, report)
    out = args.output or REPO / "bench" / "results" / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = _run_all(dbs, sizes, only, args.redis_url, args.pg_url, report, out)
    print_table(figures, args.markdown)
    _print_checks(report)
    print(f"\n# JSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
