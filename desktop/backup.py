"""``deskchat backup FILE`` and ``deskchat restore FILE``: copies of the SQLite database.

Both use SQLite's online backup API (``sqlite3.Connection.backup``), never a file copy: it
reads a consistent snapshot while the server keeps writing (WAL lets it), and it writes
through SQLite on restore, so the ``-wal`` and ``-shm`` files beside the database can never
disagree with the main file. Restore holds the data folder's instance lock for its whole run,
so it refuses while a server uses that folder and no server can start half-way through.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from chatserver.config import ConfigError

# A table every Deskchat database has: a restore refuses files that are not Deskchat's.
REQUIRED_TABLE = "chat_message"
PRE_RESTORE_SUFFIX = ".pre-restore"


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"deskchat {command}")
    if command == "backup":
        parser.description = "Copy the chat database to FILE; safe while Deskchat runs."
        parser.add_argument("file", type=Path, help="where to write the copy")
    else:
        parser.description = (
            "Replace the chat database with FILE (made by 'deskchat backup'). Deskchat must "
            "not be running on this data folder; the current database is kept beside it as "
            f"deskchat.sqlite3{PRE_RESTORE_SUFFIX}."
        )
        parser.add_argument("file", type=Path, help="a copy made by 'deskchat backup'")
    parser.add_argument("--data-dir", type=Path, default=None, help="the app's data folder")
    return parser


def database_path(data_dir: Path | None) -> tuple[Path, Path]:
    """The data folder and its SQLite file, resolved exactly as the server resolves them."""
    from chatserver.config import database_from_env, resolve_data_dir
    from desktop import bootstrap

    bootstrap.configure_environment(data_dir=data_dir)
    folder = resolve_data_dir()
    database = database_from_env(folder)
    if database["ENGINE"] != "django.db.backends.sqlite3":
        raise ConfigError(
            "backup and restore handle the built-in SQLite database only; "
            "back PostgreSQL up with pg_dump"
        )
    return folder, Path(database["NAME"])


def check_database(path: Path, *, name: Path | None = None) -> int:
    """Raise ConfigError unless ``path`` is a sound Deskchat database; return its message count.

    ``name`` is the file the messages call it (a backup is checked as its partial copy, but
    a fault found there is the live database's: the copy is page for page).
    """
    name = name or path
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ConfigError(f"{name} is not readable as a database: {exc}") from None
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise ConfigError(f"{name} is damaged: {' '.join(str(verdict).split())}")
        found = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", (REQUIRED_TABLE,)
        ).fetchone()[0]
        if not found:
            raise ConfigError(f"{name} is not a Deskchat database")
        return connection.execute(f"SELECT count(*) FROM {REQUIRED_TABLE}").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if "malformed" in str(exc):
            raise ConfigError(f"{name} is damaged: {exc}") from None
        raise ConfigError(f"{name} is not a Deskchat database: {exc}") from None
    finally:
        connection.close()


def copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target`` page by page with the online backup API.

    The source is opened read-only with a busy timeout, so a server writing at the same time
    only makes the copy wait or restart a step; the snapshot is consistent either way.
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst, pages=1024, sleep=0.01)
        # The copy is a single self-contained file: no WAL to carry around.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(data_dir: Path | None, target: Path) -> int:
    """Write a checked copy to ``target`` atomically; returns how many messages it holds."""
    _, source = database_path(data_dir)
    if not source.exists():
        raise ConfigError(f"there is no database to back up at {source}")
    target = target.expanduser().resolve()
    if target == source.resolve():
        raise ConfigError("the backup file must not be the live database")
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: give the backup a file name inside it")
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(f"cannot put the backup in {target.parent}: {blocker} is a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {target.parent}: {_reason(exc)}") from None
    if not os.access(target.parent, os.W_OK):
        raise ConfigError(f"cannot write the backup: the folder {target.parent} is not writable")
    partial = target.with_name(target.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        copy_database(source, partial)
        # Every message and password hash is in there: readable by its owner only.
        os.chmod(partial, 0o600)
        try:
            count = check_database(partial, name=source)
        except ConfigError as damaged:
            raise ConfigError(f"{damaged}; no backup was written") from None
        _fsync(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise ConfigError(f"the backup to {target} failed: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot write the backup to {target}: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return count


def _reason(error: OSError) -> str:
    """``OSError``'s words without the errno and the repeated path ("Not a directory")."""
    return error.strerror or str(error)


def restore(data_dir: Path | None, source: Path) -> int:
    """Put ``source`` back as the live database; returns how many messages it holds."""
    from desktop.lock import AlreadyRunning, InstanceLock

    folder, live = database_path(data_dir)
    source = source.expanduser().resolve()
    if not source.is_file():
        raise ConfigError(f"there is no backup file at {source}")
    count = check_database(source)
    lock = InstanceLock(folder)
    try:
        lock.acquire()
    except AlreadyRunning as running:
        where = running.info.get("url", "an unknown address")
        raise ConfigError(
            f"Deskchat is running on {folder} (at {where}); quit it before restoring"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot lock the data folder {folder}: {_reason(exc)}") from None
    try:
        if live.exists():
            # An accidental restore must be undoable: keep what was there.
            copy_database(live, live.with_name(live.name + PRE_RESTORE_SUFFIX))
        dst = sqlite3.connect(live, timeout=30)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst.execute("PRAGMA journal_mode=WAL")
            with dst:
                src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            src.close()
            dst.close()
        check_database(live)
    except sqlite3.Error as exc:
        raise ConfigError(f"the restore into {live} failed: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"the restore into {live} failed: {_reason(exc)}") from None
    finally:
        lock.release()
    return count


def main(argv: Sequence[str]) -> int:
    """``argv`` starts with ``backup`` or ``restore``; returns the exit code."""
    command, *rest = argv
    args = build_parser(command).parse_args(rest)
    started = time.monotonic()
    try:
        if command == "backup":
            count = backup(args.data_dir, args.file)
            verb = "backed up to"
        else:
            count = restore(args.data_dir, args.file)
            verb = "restored from"
    except ConfigError as error:
        print(f"deskchat {command}: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    print(f"{count} messages {verb} {args.file} in {elapsed:.1f} s")
    return 0
