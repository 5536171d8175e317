"""Importers: every job and its history from openclaw-scheduler's ``scheduler.db`` and OpenClaw's cron
``jobs.json`` (``clawsched import ...``, ``POST /v1/import/...``).

One module per concept: ``report`` (what happened to each job), ``peer_rows`` and ``peer_records`` (the
peer's rows in clawsched's terms), ``scheduler_db`` (the peer's file), ``cron_store`` (OpenClaw's legacy
files and their variants), ``writing`` (one transaction per job). Importing is idempotent: a second run
finds every row by its key and reports it unchanged; ``dry_run`` does every write and rolls it back.
"""
