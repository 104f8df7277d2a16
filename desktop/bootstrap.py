"""Preparing Django in this process: environment, settings, migrations."""

from __future__ import annotations

import os
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


def setup_django() -> None:
    """Import Daphne first (it installs Twisted's asyncio reactor), then set Django up."""
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


def migrate() -> None:
    """Apply migrations quietly; a locked or corrupt database becomes a plain ConfigError."""
    from django.core.management import call_command
    from django.db import DatabaseError, connection

    try:
        call_command("migrate", interactive=False, verbosity=0)
    except DatabaseError as exc:
        name = connection.settings_dict.get("NAME")
        raise ConfigError(f"cannot open the database {name}: {exc}") from None
