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
