"""The web dashboard: server-rendered pages (Jinja templates) served by the API process under ``/ui``,
behind the API's own token (a login form keeps it in an HttpOnly cookie). Reads go through the same
``clawsched.sched`` services as the API's routes; no JavaScript build step."""
