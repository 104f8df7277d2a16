"""Logging filters named in ``settings.LOGGING``.

Django logs every ``SuspiciousOperation`` at ERROR with its traceback. One of them is not a
fault of the server at all: ``DisallowedHost``, a request whose ``Host`` header names no
allowed host, which any LAN peer can send (a typed address, a stale bookmark, a scanner).
It is worth a warning, on one line, not an ERROR and a traceback that look like a crash.
"""

from __future__ import annotations

import logging


class AsWarning(logging.Filter):
    """Lower a record to WARNING and drop its traceback; the message stays as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        return True
