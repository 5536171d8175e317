"""Capabilities that plug into the worker: post-run steps (``pipeline.step``), maintenance passes
(``maintenance.task``) and execution gates (``execution.gate``) register themselves when imported.

Listing them here keeps the core free of imports of the capabilities built on it; a module that is
not installed yet is skipped.
"""

from __future__ import annotations

import importlib

PLUGINS = (
    "clawsched.workers.retries",
    "clawsched.workers.chaining",
    "clawsched.workers.recovery",
    "clawsched.workers.delivery",
    "clawsched.workers.agent_upkeep",
)

_loaded = False


def load() -> None:
    global _loaded
    if _loaded:
        return
    for name in PLUGINS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    _loaded = True
