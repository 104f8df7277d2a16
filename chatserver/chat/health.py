"""What a failed database call means, in words, and what the server does about it.

Three faults are told apart from the driver's error (docs/operations.md says what to do):

- ``disk_full``: the disk holding the database is full (SQLite ``SQLITE_FULL``, PostgreSQL
  ``DiskFull``). Nothing was stored; the same send works once space is freed.
- ``busy``: another program held SQLite's write lock past the busy timeout. Nothing was
  stored; a retry works once the lock is released.
- ``damaged``: the database file is corrupt (``SQLITE_CORRUPT``: "database disk image is
  malformed", ``SQLITE_NOTADB``). From then on this process refuses every statement
  (:func:`guard`), so nothing more is written to the damaged file, and the person is told to
  restore the last backup.

``report(error)`` classifies an error, logs it once in a while in plain words and calls the
``listeners`` (the launcher prints the line on its console: desktop/host.py). Each fault's
``detail`` is the sentence the sender's ``server_error`` frame carries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError

logger = logging.getLogger(__name__)

# A fault that keeps happening (every send on a full disk) is said at most this often.
REPEAT_SECONDS = 60.0

DISK_FULL = "disk_full"
BUSY = "busy"
DAMAGED = "damaged"

_MARKERS = (
    (DAMAGED, ("database disk image is malformed", "file is not a database")),
    (DISK_FULL, ("database or disk is full", "no space left on device", "disk full")),
    (BUSY, ("database is locked", "database is busy")),
)

_DETAILS = {
    DISK_FULL: "The server's disk is full: the message was not stored. Send it again once "
    "space is freed.",
    BUSY: "The database is busy: the message was not stored. Send it again.",
    DAMAGED: "The chat's database is damaged: nothing can be stored until it is restored "
    "from a backup.",
}


@dataclass(frozen=True)
class Fault:
    kind: str
    error: str  # the driver's own words, for the log

    @property
    def detail(self) -> str:
        """For the person whose frame failed (the ``error`` frame's ``detail``)."""
        return _DETAILS[self.kind]

    def sentence(self, database: str) -> str:
        """For the person running the server: what happened and what to do."""
        if self.kind == DISK_FULL:
            return (
                f"the disk holding the chat's database ({database}) is full: new messages "
                "are refused until space is freed there; then they can be sent again"
            )
        if self.kind == BUSY:
            return (
                f"another program keeps the chat's database ({database}) locked: messages "
                "are refused until it lets go"
            )
        return (
            f"the chat's database ({database}) is damaged ({self.error}); Deskchat stopped "
            "writing to it. Quit Deskchat and restore your last backup with 'deskchat restore "
            "FILE', FILE being a copy made by 'deskchat backup FILE' (see docs/operations.md)"
        )


class DatabaseDamaged(DatabaseError):
    """Refused: this process found the database damaged and writes nothing more to it."""


Listener = Callable[[Fault, str], None]
listeners: list[Listener] = []  # called with the fault and its sentence (any thread)

_damaged: Fault | None = None
_said: dict[str, float] = {}
_lock = threading.Lock()


def classify(error: BaseException) -> Fault | None:
    """The fault ``error`` means, if it is one of the three (else None)."""
    if not isinstance(error, DatabaseError | OSError):
        return None
    text = str(error).lower()
    for kind, markers in _MARKERS:
        if any(marker in text for marker in markers):
            return Fault(kind, str(error).strip().splitlines()[0] if str(error).strip() else kind)
    return None


def damaged() -> Fault | None:
    """The damage found in this process, if any."""
    return _damaged


def report(error: BaseException) -> Fault | None:
    """Classify ``error``; say a fault in words (at most every REPEAT_SECONDS per kind)."""
    global _damaged
    fault = classify(error)
    if fault is None:
        return None
    with _lock:
        if fault.kind == DAMAGED and _damaged is None:
            _damaged = fault
        now = time.monotonic()
        if now - _said.get(fault.kind, -REPEAT_SECONDS) < REPEAT_SECONDS:
            return fault
        _said[fault.kind] = now
    sentence = fault.sentence(_database_name())
    log = logger.critical if fault.kind == DAMAGED else logger.error
    log("%s", sentence)
    for listener in list(listeners):
        try:
            listener(fault, sentence)
        except Exception:
            logger.exception("a database fault listener failed")
    return fault


def guard(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    """Django execute wrapper on SQLite connections (installed by ``apps.ChatConfig``): once
    the file is found damaged every statement is refused, and corruption is noticed on
    whichever statement meets it."""
    if _damaged is not None:
        raise DatabaseDamaged(f"the database is damaged: {_damaged.error}")
    try:
        return execute(sql, params, many, context)
    except DatabaseError as error:
        report(error)
        raise


def install_guard(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: put :func:`guard` on every SQLite connection once."""
    if connection.vendor == "sqlite" and guard not in connection.execute_wrappers:
        connection.execute_wrappers.append(guard)


def report_request_error(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``got_request_exception`` receiver: an HTTP view that met a fault says it too."""
    import sys

    error = sys.exc_info()[1]
    if error is not None:
        report(error)


def reset() -> None:
    """Forget what was found (tests; a process that restored its database restarts anyway)."""
    global _damaged
    with _lock:
        _damaged = None
        _said.clear()


def _database_name() -> str:
    from django.conf import settings

    return str(settings.DATABASES["default"].get("NAME", ""))
