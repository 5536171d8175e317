"""The HTTP control plane: REST resources, the OpenClaw-style tool endpoint, probes and metrics.

Every route calls the same ``clawsched.sched`` services the CLI calls, with the same validation and the
same errors (DESIGN principle 9); nothing here decides anything of its own.
"""
