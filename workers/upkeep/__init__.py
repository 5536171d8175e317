"""Periodic upkeep that every beat schedules (``clawsched.maintenance``): ``passes`` lists them, each
its own module, each safe to run on several beats at once."""
