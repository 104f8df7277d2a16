"""How hard a commit waits for the disk, where the database lets us choose (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def presence_commits() -> Iterator[None]:
    """Commit presence rows without waiting for the disk (SQLite ``synchronous=NORMAL``).

    Presence is rebuilt at every start (``worker_start``), so a power cut that forgot the
    last few connects loses nothing; but with ``synchronous=FULL`` each connect and
    disconnect waited for its own fsync on the one database thread (0.4 ms idle, 4-12 ms
    under load), which was most of a connect in a rush (docs/benchmarks.md has the figure).
    WAL keeps the order: a later message commit syncs these pages too. SQLite refuses to
    change the level inside a transaction, so an outer transaction keeps its level.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        level = int(cursor.fetchone()[0])  # what config.sqlite_database set (FULL)
        cursor.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={level}")
