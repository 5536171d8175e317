"""Empty: its commands moved to msg_cmd, agents_cmd, tasks_cmd, alias_cmd and dispatch_cmd, which
``main.COMMANDS`` loads on demand. Kept only while tests still import it to register commands."""
