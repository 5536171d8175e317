"""Long-running processes: ``beat``, ``worker``, ``up`` (all of them under one supervisor) and ``demo``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import click

from clawsched.cli.command import command
from clawsched.cli.context import CliContext
from clawsched.cli.output import emit_json, table
from clawsched.sched.settings import Settings


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@command(None, "beat")
def beat(obj: CliContext, as_json: bool) -> None:
    """Run the scheduler (Celery beat reading jobs from SQL). Several may run at once."""
    from clawsched.workers.app import create_app

    _logging(obj.settings.log_level)
    app = create_app(obj.settings)
    app.Beat(scheduler="clawsched.beat.scheduler:SQLScheduler", loglevel=obj.settings.log_level,
             max_interval=obj.settings.beat_max_interval_s, quiet=True).run()


@command(None, "worker")
@click.option("-c", "--concurrency", type=click.IntRange(1, 256),
              help="Worker processes (default CLAWSCHED_WORKER_CONCURRENCY or 2).")
@click.option("-n", "--hostname", default="clawsched@%h", show_default=True, help="Celery node name.")
@click.option("--pool", default="prefork", show_default=True, help="Celery pool: prefork, threads or solo.")
@click.option("-Q", "--queues", callback=lambda _c, _p, v: _routes(v), metavar="NAMES",
              help="Run queues to consume, comma-separated: shell, agent, or a job's own queue "
                   "(default CLAWSCHED_WORKER_QUEUES or shell,agent).")
def worker(obj: CliContext, as_json: bool, concurrency: int | None, hostname: str, pool: str,
           queues: tuple[str, ...] | None) -> None:
    """Run a Celery worker that executes runs (shell and agent jobs) from the queues it is given."""
    if obj.settings.worker_metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before prometheus-client is first imported: prefork children then count into shared files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir(obj.settings.home))
    from clawsched.workers.app import create_app

    app = create_app(obj.settings)
    quiet = logging.getLevelName(obj.settings.log_level.upper()) in (logging.WARNING, logging.ERROR, logging.CRITICAL)
    if quiet:  # asked for warnings only (`demo` does): no banner, no lecture on running as root
        import warnings

        from celery.exceptions import SecurityWarning

        warnings.filterwarnings("ignore", category=SecurityWarning)
    app.worker_main([
        *(["--quiet"] if quiet else []), "worker", "-Q", ",".join(obj.settings.consumed_queues(queues)),
        "-c", str(concurrency or obj.settings.worker_concurrency),
        "-l", obj.settings.log_level, "-E", "-n", hostname, "-P", pool, "--without-gossip", "--without-mingle",
    ])


def _routes(value: str | None) -> tuple[str, ...] | None:
    from clawsched.sched.rules.routing import parse_routes

    try:
        return parse_routes(value) if value is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("--queues: "), param_hint="'-Q' / '--queues'") from None


def _metrics_dir(home: Path) -> Path:
    """A fresh folder for this worker's multiprocess metric files, ``CLAWSCHED_HOME/metrics/worker-<pid>``;
    the folders of workers that are gone are removed on the way."""
    import shutil

    root = home / "metrics"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("worker-*"):
        pid = old.name.removeprefix("worker-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = root / f"worker-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@command(None, "up")
@click.option("--no-worker", is_flag=True, help="Start Redis and beat only (workers run elsewhere).")
@click.option("--no-api", is_flag=True, help="Do not start the HTTP API (`clawsched api`).")
def up(obj: CliContext, as_json: bool, no_worker: bool, no_api: bool) -> None:
    """Run everything on this machine: Redis (embedded unless CLAWSCHED_REDIS_URL is set), beat, a worker
    and the HTTP API (on CLAWSCHED_API_HOST:CLAWSCHED_API_PORT, default 127.0.0.1:8765).

    State lives in CLAWSCHED_HOME (default ~/.clawsched). Other terminals' clawsched commands find the
    same store and Redis. The API's token is CLAWSCHED_API_TOKEN, or the one in CLAWSCHED_HOME/api-token.
    Stop with Ctrl-C.
    """
    from clawsched.cli.supervisor import Supervisor

    _logging(obj.settings.log_level)
    supervisor = Supervisor(obj.settings, with_worker=not no_worker, with_api=not no_api)
    settings = supervisor.start()
    click.echo(f"clawsched is up: home {settings.home}, redis {settings.redis_url}. Ctrl-C stops it.", err=True)
    if not no_api:
        click.echo(f"API on {supervisor.api_url} (token: {_token_source(settings)})", err=True)
    supervisor.run_forever()


def _token_source(settings: Settings) -> str:
    """Where the API token is kept, never the token itself."""
    from clawsched.api.auth import token_path

    return "CLAWSCHED_API_TOKEN" if settings.api_token else str(token_path(settings))


DEMO_JOB = {
    "name": "demo: hello every 2s",
    "schedule_kind": "every",
    "schedule_every_ms": 2000,
    "session_target": "shell",
    "payload_message": 'echo "hello from clawsched run $CLAWSCHED_RUN_ID on $(hostname)"; uname -sr',
    "run_timeout_ms": 10000,
    "delivery_mode": "none",
    "origin": "demo",
}


@command(None, "demo")
@click.option("--runs", "wanted", default=3, show_default=True, help="How many runs to wait for.")
@click.option("--home", type=click.Path(path_type=Path), help="Where to keep state (default: a temporary folder).")
def demo(obj: CliContext, as_json: bool, wanted: int, home: Path | None) -> None:
    """Start clawsched embedded, add a shell job that runs every 2 s, show its runs, stop (and remove the
    temporary home, unless --home named one)."""
    import shutil
    import tempfile

    from clawsched.cli.supervisor import Supervisor

    _logging("WARNING")
    temporary = home is None
    home = home or Path(tempfile.mkdtemp(prefix="clawsched-demo-"))
    settings = obj.settings.with_(home=home, database_url=f"sqlite:///{home / 'clawsched.db'}")
    quiet = {"CLAWSCHED_LOG_LEVEL": os.environ.get("CLAWSCHED_LOG_LEVEL", "WARNING")}
    supervisor = Supervisor(settings, extra_env=quiet, with_api=False)
    click.echo(f"starting clawsched in {home} (embedded Redis, SQLite, beat, worker) ...", err=True)
    try:
        _demo_runs(supervisor.start(), as_json, wanted)
    finally:
        supervisor.stop()
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
    click.echo(f"\nNext: {_next_step()}", err=True)


def _demo_runs(settings: Settings, as_json: bool, wanted: int) -> None:
    from clawsched.sched import jobs, runs
    from clawsched.sched.coordination.connection import client
    from clawsched.sched.coordination.wake import notify
    from clawsched.sched.store.engine import Store

    store = Store(settings.database_url)
    job = jobs.create(store, DEMO_JOB)
    notify(client(settings.redis_url), settings, "demo")
    click.echo(f"added job {job.id}: {job.name}; waiting for {wanted} runs ...", err=True)
    done = _wait_for_runs(store, job.id, wanted, timeout_s=60 + 3 * wanted)
    if as_json:
        emit_json([runs.as_dict(r) for r in done])
    else:
        table([(r.id[:12], r.status, r.started_at, r.duration_ms, r.shell_exit_code, r.summary) for r in done],
              ["run", "status", "started", "ms", "exit", "output"])
    if len([r for r in done if r.status == "ok"]) < wanted:
        raise click.ClickException(f"only {len(done)} runs finished; see the log lines above")
    click.echo(f"\n{wanted} runs recorded; the demo's home is removed when it stops.", err=True)


def _next_step() -> str:
    """What to run after the demo, as a command that works pasted into any shell: this clawsched by its
    absolute path (``./dev`` put its virtualenv on the demo's PATH, not on the user's)."""
    import shlex
    import sys

    beside = Path(sys.executable).parent / "clawsched"
    exe = str(beside) if beside.exists() else "clawsched"
    return (f"{shlex.quote(exe)} up    (clawsched until Ctrl-C; the dashboard on http://127.0.0.1:8765/ui/; "
            "README.md's tour goes on from there)")


def _wait_for_runs(store: object, job_id: str, wanted: int, timeout_s: float) -> list:  # type: ignore[type-arg]
    from clawsched.sched import runs

    deadline = time.monotonic() + timeout_s
    finished: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        # runs that ran: a fire folded into a later one (a missed run) is not one of the demo's runs
        finished = [r for r in runs.for_job(store, job_id, 50) if r.finished_at and r.started_at]  # type: ignore[arg-type]
        if len(finished) >= wanted:
            return sorted(finished, key=lambda r: r.created_at)[:wanted]
        time.sleep(0.2)  # polling a user-facing progress wait, not a test
    return sorted(finished, key=lambda r: r.created_at)
