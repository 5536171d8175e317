"""The Celery side: the app, the run task, executors (shell, agent) and the post-run pipeline."""
