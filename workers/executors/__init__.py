"""Executors run one run of one kind of job (``base`` is the port; ``registry`` picks one per job)."""
