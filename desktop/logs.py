"""Logging for the desktop app: a capped, rotating file in the data folder.

Django's ``LOGGING`` setting replaces the root handlers when Django starts, so ``install`` is
called again after ``django.setup()``; it is idempotent.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_NAME = "deskchat.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


class _FileHandler(logging.handlers.RotatingFileHandler):
    """Marks our handler so a second ``install`` does not add another."""


# ``extra=FILE_ONLY`` on a record the launcher also says in its own one line: the log file
# gets it, the console does not (twice would be noise, and the console's one line is the rule).
FILE_ONLY = {"deskchat_file_only": True}


class _SaidByTheLauncher(logging.Filter):
    """Keeps off the console what the launcher says in its own one line (the log file still
    gets it): records logged with ``extra=FILE_ONLY`` (the host's "sharing failed"), and
    Daphne's CRITICAL "Listen failure" for a port that cannot be taken, which it logs before
    the launcher says "cannot listen on HOST:PORT" (Daphne's own record, matched by its logger
    and format string since it cannot carry our mark)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "deskchat_file_only", False):
            return False
        return not (record.name == "daphne.server" and record.msg == "Listen failure: %s")


def log_path(data_dir: Path) -> Path:
    return data_dir / "logs" / LOG_NAME


def install(data_dir: Path | None, *, debug: bool = False) -> Path | None:
    """Log INFO (DEBUG with ``--debug``) to the file; the console shows warnings, or all with
    ``--debug``. Returns the log file, or ``None`` if it cannot be written (not fatal)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    console = [h for h in root.handlers if type(h) is logging.StreamHandler]
    if not console:
        console = [logging.StreamHandler()]
        root.addHandler(console[0])
    for handler in console:
        handler.setLevel(logging.DEBUG if debug else logging.WARNING)
        handler.setFormatter(logging.Formatter(FORMAT))
        if not any(isinstance(f, _SaidByTheLauncher) for f in handler.filters):
            handler.addFilter(_SaidByTheLauncher())
    # Noisy libraries stay at INFO even with --debug.
    for name in ("asyncio", "zeroconf", "daphne.ws_protocol", "daphne.http_protocol"):
        logging.getLogger(name).setLevel(logging.INFO)
    if data_dir is None:
        return None
    path = log_path(data_dir)
    existing = [h for h in root.handlers if isinstance(h, _FileHandler)]
    if existing:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _FileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("cannot write the log file %s: %s", path, exc)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG)
    root.addHandler(handler)
    return path


def to_file(
    data_dir: Path | None, level: int, message: str, *, exc_info: bool = False
) -> Path | None:
    """Write one record to the log file only, never the console (which already got one line).

    Uses the installed file handler, else opens the data folder's log for this one record.
    With ``exc_info`` the exception being handled goes with it (its traceback is for whoever
    reads the log, not for the person). Returns the log file, or ``None`` if there is none.
    """
    import sys

    root = logging.getLogger()
    handlers: list[logging.Handler] = [h for h in root.handlers if isinstance(h, _FileHandler)]
    opened = None
    if not handlers and data_dir is not None:
        path = log_path(data_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            opened = _FileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        except OSError:
            return None
        opened.setFormatter(logging.Formatter(FORMAT))
        handlers = [opened]
    if not handlers:
        return None
    record = logging.getLogger("desktop").makeRecord(
        "desktop", level, __file__, 0, message, None, sys.exc_info() if exc_info else None
    )
    for handler in handlers:
        handler.handle(record)
    if opened is not None:
        opened.close()
    return Path(handlers[0].baseFilename)  # type: ignore[attr-defined]
