"""Schedules as code: agentcli manifests (v0.1, YAML or JSON) applied as a plan, and jobs exported back.

A manifest names workflows of tasks; each task becomes one job under a stable id,
``sha256(workflow_id:task_id)``, marked with the origin ``manifest:<workflow>/<task>`` so later applies,
``--prune`` and ``export`` know which jobs a manifest owns. The steps, one module each: ``document``
(read and validate the file), ``compiling`` (task -> job spec and job -> task), ``planning`` (the pure
diff) and ``applying`` (the service: plan against the store, write in one transaction).
"""
