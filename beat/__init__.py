"""The custom Celery beat scheduler that reads cron/at/every rules and due runs from SQL."""
