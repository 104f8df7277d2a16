"""One server per data folder: an OS file lock held for the life of the process.

The lock is released by the operating system when the process dies, so a crash never leaves
a stale lock behind. Beside it, ``instance.json`` says where the running server listens so a
second launch can open that instead of starting another server on the same database. A clean
stop deletes it; finding it when the lock is free means the last run did not stop cleanly
(killed, a crash, a power cut): ``unclean`` is then True and the start checks the database.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

LOCK_NAME = "deskchat.lock"
INFO_NAME = "instance.json"


class AlreadyRunning(Exception):
    """Another process holds the data folder; ``info`` is what it published (may be empty)."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__("another Deskchat is running on this data folder")
        self.info = info


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self.info_path = data_dir / INFO_NAME
        self._handle: IO[bytes] | None = None
        self.unclean = False  # the last run left its instance record behind

    def acquire(self) -> None:
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open on purpose
        if not _try_lock(handle):
            handle.close()
            raise AlreadyRunning(self.read_info())
        self._handle = handle
        self.unclean = self.info_path.exists()

    def publish(self, **info: Any) -> None:
        """Record where this instance listens (and its pid) for later launches."""
        tmp = self.info_path.with_suffix(".tmp")
        # Private to this user: it holds the control channel's secret (desktop/control.py).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"pid": os.getpid(), **info}, fh)
        os.replace(tmp, self.info_path)

    def read_info(self) -> dict[str, Any]:
        try:
            return json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def release(self, *, keep_record: bool = False) -> None:
        """Unlock; ``keep_record`` leaves ``instance.json`` so the next start checks the
        database as after a crash (it was found damaged)."""
        if self._handle is None:
            return
        try:
            if not keep_record:
                self.info_path.unlink(missing_ok=True)
        finally:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
