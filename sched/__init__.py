"""The system of record: job specs, schedules, runs and the rules that move them (no Celery here)."""

__version__ = "0.1.0"
