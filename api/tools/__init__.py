"""The tool endpoint (``/v1/tools``): OpenClaw's cron tool and the seeds' control-plane tools over HTTP.

``registry`` lists every tool once; each group has its module (``cron``, ``heartbeat``, ``records``), its
arguments a model in ``args``; ``sched.specs.cron_tool`` turns the cron tool's job spellings into one; ``invoke`` is the
router. Handlers call the same ``sched`` services as the CLI and hold no rules of their own.
"""
