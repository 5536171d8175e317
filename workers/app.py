"""The Celery app. ``celery -A clawsched.workers.app`` finds ``app`` here, built from the environment when
first asked for (so importing ``create_app`` reads no environment, and a missing Redis is reported then).

Messages carry only a run id (JSON); SQL holds everything else. ``acks_late`` with a prefetch of one
means a message is acknowledged after its run is recorded; a duplicate delivery finds the run already
moved by its guarded UPDATE and does nothing. Long delays never travel as Celery ETAs: they are run
rows with a not-before instant that the beat dispatches when due.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from clawsched.sched import tasknames
from clawsched.sched.settings import Settings


def create_app(settings: Settings, **overrides: Any) -> Celery:
    app = Celery("clawsched", broker=settings.require_redis_url(), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=False,  # a lost run is the reconciler's to judge, not a blind redelivery
        worker_prefetch_multiplier=1,
        task_default_queue=settings.queue,
        task_send_sent_event=False,  # a "sent" event per run doubles the beat's publishing cost in a burst
        worker_send_task_events=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600, "global_keyprefix": f"{settings.namespace}:"},
        enable_utc=True,
        timezone="UTC",
        beat_max_loop_interval=settings.beat_max_interval_s,
        beat_schedule=maintenance_schedule(settings),
    )
    app.conf.update(overrides)
    app.clawsched_settings = settings  # type: ignore[attr-defined]
    from clawsched.workers import metrics, presence, tasks

    tasks.register(app)
    presence.install(app)  # workers announce themselves (status, /readyz)
    metrics.install(app)  # and serve /metrics when CLAWSCHED_WORKER_METRICS_PORT is set
    return app


def maintenance_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Periodic upkeep, run by every beat; each task is safe to run on several beats at once."""
    return {
        "clawsched-maintenance": {
            "task": tasknames.MAINTENANCE,
            "schedule": max(1.0, min(5.0, settings.stale_after_s / 3)),
            "options": {"queue": settings.queue, "expires": 30},
        },
    }


def __getattr__(name: str) -> Any:
    """``app``: the environment's Celery app, built once on first use (PEP 562)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = globals()["app"] = create_app(Settings.from_env())
    return built
