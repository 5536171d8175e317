"""The names of clawsched's Celery tasks, defined once: the worker registers them, the beat sends them.

Plain strings, so the beat (which must not import the worker's code) and the worker agree without
either importing the other.
"""

RUN = "clawsched.run"
FINISHED = "clawsched.finished"
MAINTENANCE = "clawsched.maintenance"
