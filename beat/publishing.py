"""Publishing a burst of ``clawsched.run`` messages: Celery's own message, built once per burst.

``send_task`` spends ~0.1 ms a message on work whose result is the same for every run of a burst: merging
task options, routing, building the protocol-2 headers, and, for every message, re-binding the queue and
wrapping the publish in a retry closure. So the first run of a burst goes through ``send_task`` (which also
declares the queue), its publish is recorded, and every other run is published with that message's
headers, properties and routing, changing only what differs per message: the task id (``id``,
``correlation_id``, and ``root_id`` when it was the task id) and the argument (``args``, and ``argsrepr``:
Celery's own ``saferepr`` of the arguments followed by the job's name, which is what Flower lists as a
run's arguments, e.g. ``['0b1c…'] nightly backup``). Any Celery worker, or Flower, sees the same messages
``send_task`` sends with that ``argsrepr`` (tests/test_publishing.py compares them byte for byte and runs
them on a real worker).

This takes the place of ``send_task`` only where its per-message work buys nothing: inside a kombu publish
batch (Redis), where a publish only appends to a pipeline, so Celery's per-message connection retry has
no I/O to retry. Elsewhere (other brokers, or a Redis client that retries, where kombu does not batch),
when anyone listens to Celery's publish signals or asked for sent events (both are per message), or when
task routes are configured (a router may look at the arguments), or with the old protocol 1, every run
goes through ``send_task``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Celery, signals
from celery.utils.saferepr import saferepr

from clawsched.sched.store.claims import Claimed
from clawsched.sched.store.tables import new_id
from clawsched.sched.tasknames import FINISHED, RUN

BATCH_SIZE = 500  # Redis commands per pipeline round trip
NAME_MAX = 200  # characters of a job's name in a message's argsrepr


def named_argsrepr(args_repr: str, job_name: str) -> str:
    """A run message's ``argsrepr``: its arguments' repr, then its job's name (what Flower shows)."""
    if not job_name:
        return args_repr
    if len(job_name) > NAME_MAX:
        job_name = job_name[:NAME_MAX - 1] + "\u2026"
    return f"{args_repr} {job_name}"


def publish_runs(app: Celery, runs: Sequence[Claimed], *, queue: str, link: Any = None, producer: Any = None) -> int:
    """Publish one ``clawsched.run`` message per run, in pipelined batches where the broker allows.

    Returns how many were published from the recorded message (0 when every one went through ``send_task``).
    """
    if not runs:
        return 0
    with app.producer_or_acquire(producer) as prod:
        if not _buffers_publishes(prod):
            return _one_by_one(app, runs, queue, link, prod)
        with prod.batch(max_size=BATCH_SIZE):
            if not _prebuilt_allowed(app):
                return _one_by_one(app, runs, queue, link, prod)
            recorder = _Recorder(prod)
            _send_task(app, runs[0], queue, link, recorder)
            if recorder.published is None:
                return _one_by_one(app, runs[1:], queue, link, prod)
            template = _Template(app, *recorder.published)
            publish = prod.publish
            for run in runs[1:]:
                body, options = template.message(run.run_id, run.job_name)
                publish(body, **options)
            return len(runs) - 1


def _send_task(app: Celery, run: Claimed, queue: str, link: Any, producer: Any) -> None:
    args = [run.run_id]
    argsrepr = named_argsrepr(saferepr(args, app.amqp.argsrepr_maxsize, maxlevels=app.conf.task_repr_maxlevels),
                              run.job_name)
    app.send_task(RUN, args=args, queue=queue, link=link, producer=producer, argsrepr=argsrepr)


def _one_by_one(app: Celery, runs: Sequence[Claimed], queue: str, link: Any, producer: Any) -> int:
    for run in runs:
        _send_task(app, run, queue, link, producer)
    return 0


def _buffers_publishes(producer: Any) -> bool:
    """Whether a publish inside ``producer.batch()`` only buffers (kombu's Redis transport, no client retry)."""
    channel = producer.channel
    return (callable(getattr(producer, "batch", None))
            and callable(getattr(channel, "create_publish_batch", None))
            and bool(getattr(channel, "supports_batch_publish", False)))


def _prebuilt_allowed(app: Celery) -> bool:
    """False when a message may legitimately differ from the template in more than its id and argument."""
    listened = any(s.has_listeners() for s in (signals.before_task_publish, signals.after_task_publish,
                                                signals.task_sent))
    return (not listened and not app.conf.task_send_sent_event and not app.amqp.router.routes
            and app.conf.task_protocol == 2)


class _Recorder:
    """A producer that passes everything through and remembers what ``send_task`` published."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.published: tuple[Any, dict[str, Any]] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)

    def publish(self, body: Any, **options: Any) -> Any:
        self.published = (body, dict(options))
        return self._producer.publish(body, **options)


class _Template:
    """One recorded ``send_task`` publish, re-issued for other runs."""

    def __init__(self, app: Celery, body: Any, options: dict[str, Any]) -> None:
        args, self.kwargs, self.embed = body
        headers = options["headers"]
        self.own_root = headers.get("root_id") == headers["id"]  # no parent task: each message is its own root
        self.headers = headers
        # The queue was declared by the recorded publish, and in a batch a publish does no I/O to retry.
        self.options = {**options, "declare": [], "retry": False}
        self.repr_size = app.amqp.argsrepr_maxsize
        self.repr_levels = app.conf.task_repr_maxlevels

    def message(self, run_id: str, job_name: str) -> tuple[Any, dict[str, Any]]:
        task_id = _task_id()
        args = [run_id]
        # saferepr of a short alphanumeric id is its repr (20x cheaper); anything else goes the long way
        plain = run_id.isascii() and run_id.isalnum() and len(run_id) < self.repr_size
        argsrepr = repr(args) if plain else saferepr(args, self.repr_size, maxlevels=self.repr_levels)
        argsrepr = named_argsrepr(argsrepr, job_name)
        headers = {**self.headers, "id": task_id, "argsrepr": argsrepr}
        if self.own_root:
            headers["root_id"] = task_id
        # send_task(argsrepr=...) also passes the option on to the publish, where kombu makes it a property
        options = {**self.options, "headers": headers, "correlation_id": task_id, "argsrepr": argsrepr}
        return (args, self.kwargs, self.embed), options


def _task_id() -> str:
    """A uuid4 in Celery's (kombu's) dashed form, from ``new_id``'s cheaper generator."""
    h = new_id()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def send_runs(app: Celery, runs: Sequence[Claimed], producer: Any = None) -> int:
    """Send each claimed run to the workers on its route's queue (``clawsched.shell``, ``clawsched.agent``,
    or its job's own); returns how many went out as prebuilt messages.

    The post-run pipeline (retries, chains, delivery) consumes the outcome either in the run task itself,
    right after the outcome is recorded (``post_run="inline"``, the default), or in a Celery ``link``
    callback task (``"callback"``). Both are idempotent, and the ``finalize_orphans`` pass covers a
    worker that died in between. Inline spares a second Celery task per run: on two cores that is the
    difference between half and two thirds of bare Celery's throughput (see bench/README.md).
    """
    settings = app.clawsched_settings  # type: ignore[attr-defined]
    link = None
    if settings.post_run == "callback":
        link = app.signature(FINISHED, queue=settings.queue, immutable=False)
    by_route: dict[str, list[Claimed]] = {}
    for run in runs:  # each run to the queue its target or its job names (rules/routing)
        by_route.setdefault(run.route, []).append(run)
    return sum(publish_runs(app, group, queue=settings.run_queue(route), link=link, producer=producer)
               for route, group in by_route.items())
