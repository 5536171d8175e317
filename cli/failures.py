"""What the CLI makes of an exception that is not one of clawsched's own: a domain error whose message
names the problem and the fix, so a user never sees a traceback (``CLAWSCHED_DEBUG=1`` shows it)."""

from __future__ import annotations

from clawsched.sched.errors import ClawschedError, SpecError, UnavailableError


class InternalError(ClawschedError):
    """A bug: the one line says so and how to see more."""

    exit_code = 1


def read_argument_file(path: str, what: str) -> str:
    """The text of an ``@file`` argument; every way it can fail is a SpecError naming the file and the fix."""
    if not path:
        raise SpecError(f"{what}: '@' needs a file name, e.g. @job.json", field=what.replace(" ", "_"))
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(exc, path, what) from None


def file_error(exc: Exception, path: str, what: str) -> SpecError:
    field = what.replace(" ", "_")
    if isinstance(exc, FileNotFoundError):
        return SpecError(f"{what}: file {path} does not exist; check the path", field=field)
    if isinstance(exc, IsADirectoryError):
        return SpecError(f"{what}: {path} is a directory; name a file in it, e.g. @{path.rstrip('/')}/job.json",
                         field=field)
    if isinstance(exc, PermissionError):
        return SpecError(f"{what}: {path} is not readable (permission denied); check its mode", field=field)
    if isinstance(exc, UnicodeDecodeError):
        return SpecError(f"{what}: {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON",
                         field=field)
    return SpecError(f"{what}: cannot read {path} ({type(exc).__name__}: {exc}); check the path", field=field)


def as_domain_error(exc: Exception) -> ClawschedError:
    """The domain error an unexpected exception stands for (files, the database, Redis), else InternalError."""
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    filename = getattr(exc, "filename", None)
    if isinstance(exc, OSError) and filename:
        return file_error(exc, str(filename), "file")
    if isinstance(exc, UnicodeDecodeError):
        return SpecError(f"input is not UTF-8 text (byte {exc.start}); pass UTF-8")
    if (module.startswith(("sqlalchemy", "sqlite3", "psycopg"))
            and name in ("OperationalError", "InterfaceError", "DatabaseError", "UndefinedColumn", "UndefinedTable")):
        return UnavailableError("the database cannot be used right now "
                                f"({str(exc).splitlines()[0][:200]}); check CLAWSCHED_DATABASE_URL and "
                                "that the schema is current (`clawsched db upgrade`)")
    if module.startswith("redis") and name in ("ConnectionError", "TimeoutError", "BusyLoadingError"):
        return UnavailableError(f"Redis is unreachable ({name}); start it (`clawsched up`) or check "
                                "CLAWSCHED_REDIS_URL")
    return InternalError(f"internal error ({name}: {str(exc)[:200]}); this is a bug, please report it; "
                         "CLAWSCHED_DEBUG=1 shows the traceback")
