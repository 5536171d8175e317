"""Whether this installation can do its work: the database and Redis answer (the Redis the settings
name, never another), and — once the fleet announces itself — a live beat and worker.

The CLI's ``status`` and the API's ``/readyz`` both report this one answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from .runtime import Runtime


def _database(rt: Runtime) -> dict[str, Any]:
    try:
        with rt.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "url": rt.store.url.split("@")[-1]}
    except Exception as exc:
        return {"ok": False, "url": rt.store.url.split("@")[-1], "error": type(exc).__name__}


def _redis(rt: Runtime) -> dict[str, Any]:
    url = rt.settings.redis_url.split("@")[-1]
    try:
        rt.redis.ping()
        return {"ok": True, "url": url}
    except Exception as exc:
        return {"ok": False, "url": url, "error": type(exc).__name__}


def check(rt: Runtime) -> dict[str, Any]:
    checks = {"database": _database(rt), "redis": _redis(rt)}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
