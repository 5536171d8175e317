"""REST resources under ``/v1``: one module per resource (jobs, runs, approvals, messages, agents, aliases).

Each module holds a router whose routes call the same ``clawsched.sched`` services the CLI calls, and
answers with a response model declared in ``api/resources/models.py`` (so the OpenAPI document describes
every answer); errors come from the services as ``ClawschedError`` and leave through ``api/errors.py``.
"""
