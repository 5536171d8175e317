"""Empty: its commands moved to jobs_cmd (``jobs tree|cancel|approve|reject``), approvals_cmd and
runs_cmd (``runs tree``), which ``main.COMMANDS`` loads on demand. Kept only while tests still import it
to register commands."""
