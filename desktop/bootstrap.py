"""Preparing Django in this process: environment, settings, migrations.

Start-up is almost all imports (docs/benchmarks.md, S6), so three things here exist only to
make a start cheaper; each says what it bought, measured on the benchmark machine.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path

from chatserver.config import ConfigError


def configure_environment(*, data_dir: Path | None, debug: bool = False) -> None:
    """Point Django at the data folder before settings are imported."""
    if data_dir is not None:
        os.environ["DESKCHAT_DATA_DIR"] = str(data_dir)
    if debug:
        # Verbose logs only: Django's DEBUG would show tracebacks to everyone on the LAN
        # (set DESKCHAT_DEBUG=1 explicitly for that).
        os.environ.setdefault("DESKCHAT_LOG_LEVEL", "DEBUG")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatserver.settings")


def setup_django(*, tls: bool = True) -> None:
    """Import Daphne first (it installs Twisted's asyncio reactor), then set Django up.

    ``tls=False`` promises that this process will never listen with TLS (no ``--cert``):
    Twisted is then imported without pyOpenSSL (see ``without_pyopenssl``).
    """
    with contextlib.nullcontext() if tls else without_pyopenssl():
        import daphne.server  # noqa: F401
    import django

    from chatserver.config import check_services

    check_services()  # an unreachable Redis or PostgreSQL fails here, in one line
    try:
        django.setup()
    except ConfigError:
        raise
    except OSError as exc:  # e.g. data folder not writable
        raise ConfigError(str(exc)) from None


@contextlib.contextmanager
def without_pyopenssl() -> Iterator[None]:
    """While inside, ``import OpenSSL`` fails as if pyOpenSSL were not installed.

    Twisted imports pyOpenSSL, cryptography and service_identity as soon as they are installed,
    to offer TLS; a server without ``--cert`` never uses them. Measured 2026-11-26: importing
    Daphne took ~370 ms instead of ~440 ms, and a headless start 89 ms less (S6, medians of
    30; docs/benchmarks.md). Twisted keeps the answer for the life of the process, so only a
    process that will never serve TLS may use this.
    """
    if "OpenSSL" in sys.modules:  # already imported: nothing left to save
        yield
        return
    sys.modules["OpenSSL"] = None  # type: ignore[assignment]  # makes the import fail
    try:
        yield
    finally:
        if "OpenSSL" in sys.modules and sys.modules["OpenSSL"] is None:
            del sys.modules["OpenSSL"]  # later imports of OpenSSL work normally


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Keep the garbage collector off while starting, then freeze what the start created.

    A start creates ~150,000 objects that live as long as the process (modules, classes,
    functions) and almost no garbage (~3,400 objects in cycles). With the collector on, each
    full collection re-scans all of them as they pile up (one took 70-130 ms here); paused,
    a headless start took 99 ms less (S6, medians of 30, 2026-11-26). Frozen afterwards,
    later collections never scan them again, which also spares the running server those
    pauses.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def migrate() -> None:
    """Apply migrations quietly; a locked or corrupt database becomes a plain ConfigError.

    Django's ``migrate`` loads every migration and replays them all to build the models'
    state, even when there is nothing to apply: 65 ms of every start, against 10 ms for the
    check (80 ms of a headless start; S6, 2026-11-26). So it runs only when
    ``migrations_pending()`` finds a migration file not yet recorded as applied.
    """
    from django.core.management import call_command
    from django.db import DatabaseError, connection

    try:
        if migrations_pending():
            call_command("migrate", interactive=False, verbosity=0)
    except DatabaseError as exc:
        name = connection.settings_dict.get("NAME")
        raise ConfigError(f"cannot open the database {name}: {exc}") from None


def check_database() -> None:
    """SQLite's ``quick_check`` on the database, read-only; a damaged file stops the start.

    Run after an unclean stop (``InstanceLock.unclean``), before anything writes: a damaged
    file then gets no migration, no presence rows, no messages. ``quick_check`` reads every
    page and checks each b-tree (not that indexes match their tables), in about a second per
    few hundred megabytes, so it is not run after a clean stop.
    """
    from django.db import connection

    from chatserver.chat.health import DAMAGED, Fault

    if connection.vendor != "sqlite":
        return
    path = Path(connection.settings_dict["NAME"])
    if not path.exists():
        return  # a first start
    verdict = quick_check(path)
    if verdict != "ok":
        raise ConfigError(Fault(DAMAGED, verdict).sentence(str(path)))


def quick_check(path: Path) -> str:
    """``ok``, or what SQLite found wrong with the file at ``path``, on one line.

    SQLite's rows hold line breaks of their own ("*** in database main ***\nPage 5: ..."); the
    verdict goes into the launcher's one-line message, so each row is folded onto one line
    here and the first few are joined with "; ".
    Opened read-only: a read-only connection never checkpoints, so the check itself writes
    nothing to the file it checks (the WAL a crash left is read, not moved into it).
    """
    import sqlite3

    try:
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as error:
        return _folded(str(error))
    try:
        rows = check.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as error:
        return _folded(str(error))
    finally:
        check.close()
    return "; ".join(_folded(str(row[0])) for row in rows) or "no answer"


def _folded(text: str) -> str:
    return " ".join(text.split())


def migrations_pending() -> bool:
    """Whether the default database lacks a migration that is on disk (or cannot tell).

    Compares the names of the migration files, found the way Django's loader finds them but
    without importing them, with the rows of ``django_migrations``. Anything unusual answers
    True, so that Django's own ``migrate`` decides.
    """
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    on_disk = migrations_on_disk()
    recorder = MigrationRecorder(connection)
    if on_disk is None or not recorder.has_table():
        return True
    return not on_disk <= set(recorder.applied_migrations())


def migrations_on_disk() -> set[tuple[str, str]] | None:
    """``(app label, migration name)`` of every migration file of the installed apps.

    Mirrors ``MigrationLoader.load_disk`` (same module names, same file filter) without
    importing the migrations themselves; None where that loader would do something else.
    """
    from django.apps import apps
    from django.db.migrations.loader import MIGRATIONS_MODULE_NAME, MigrationLoader

    found: set[tuple[str, str]] = set()
    for app_config in apps.get_app_configs():
        module_name, explicit = MigrationLoader.migrations_module(app_config.label)
        if module_name is None:
            continue  # migrations disabled for this app
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not explicit and MIGRATIONS_MODULE_NAME in (error.name or "").split("."):
                continue  # an app without migrations
            return None
        if not hasattr(module, "__path__"):
            continue  # a plain module, not a package: Django ignores it
        if getattr(module, "__file__", None) is None and not isinstance(module.__path__, list):
            continue  # an empty folder (namespace package): Django ignores it too
        found.update(
            (app_config.label, name)
            for _, name, is_package in pkgutil.iter_modules(module.__path__)
            if not is_package and name[0] not in "_~"
        )
    return found
