"""``deskchat migrate-to-postgres``: copy an install's SQLite database into PostgreSQL.

The copy goes through Django's own serializers (what ``dumpdata``/``loaddata`` do) with
natural keys, so content types and permissions, which ``migrate`` numbers differently in the
new database, still match. Presence rows (connections, workers) are not copied: they describe
sockets of the old process. The PostgreSQL database must be empty; migrations are applied to
both sides first, and the row counts are compared at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from chatserver.config import ConfigError, redacted

SOURCE = "sqlite_source"
# Recreated by ``migrate`` on the new side (natural keys map them), or only meaningful to the
# process that wrote them.
EXCLUDE = [
    "contenttypes",
    "auth.permission",
    "chat.connection",
    "chat.connectionroom",
    "chat.worker",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskchat migrate-to-postgres",
        description="Copy this install's SQLite database into an empty PostgreSQL database.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the install's data folder (holds deskchat.sqlite3)",
    )
    parser.add_argument(
        "--to",
        default=None,
        metavar="URL",
        help="postgres://user:password@host:port/dbname (default: DESKCHAT_DATABASE_URL)",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        counts = migrate(data_dir=args.data_dir, url=args.to)
    except ConfigError as error:
        print(f"deskchat: {error}", file=sys.stderr)
        return 2
    total = sum(counts.values())
    print(f"copied {total} rows: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return 0


def migrate(*, data_dir: Path | None, url: str | None) -> dict[str, int]:
    """Copy everything; returns the row count per model. Raises ConfigError for a person."""
    from desktop import bootstrap

    url = url or os.environ.get("DESKCHAT_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise ConfigError(
            "give the PostgreSQL database with --to postgres://... (or DESKCHAT_DATABASE_URL)"
        )
    os.environ["DESKCHAT_DATABASE_URL"] = url
    bootstrap.configure_environment(data_dir=data_dir)
    from chatserver.config import resolve_data_dir, sqlite_database
    from desktop.lock import AlreadyRunning, InstanceLock

    folder = resolve_data_dir()
    source = sqlite_database(folder)
    if not Path(source["NAME"]).is_file():
        raise ConfigError(f"no SQLite database at {source['NAME']}")
    lock = InstanceLock(folder)
    try:
        lock.acquire()  # nobody may write to the SQLite file while it is copied
    except AlreadyRunning:
        raise ConfigError(f"Deskchat is running on {folder}: stop it first") from None
    try:
        return _copy(source, url)
    finally:
        lock.release()


def _copy(source: dict, url: str) -> dict[str, int]:
    from django.conf import settings

    from desktop import bootstrap

    settings.DATABASES[SOURCE] = source  # before the first connection is opened
    bootstrap.setup_django()
    from django.apps import apps
    from django.core.management import call_command
    from django.db import DatabaseError

    try:
        call_command("migrate", database=SOURCE, interactive=False, verbosity=0)
        call_command("migrate", interactive=False, verbosity=0)
    except DatabaseError as error:
        raise ConfigError(f"cannot migrate: {error}") from None
    models = [m for m in apps.get_models() if _copied(m)]
    busy = {m._meta.label: m.objects.using("default").count() for m in models}
    busy = {label: n for label, n in busy.items() if n}
    if busy:
        raise ConfigError(
            f"the PostgreSQL database {redacted(url)} is not empty "
            f"({', '.join(f'{k} {v}' for k, v in busy.items())}): migrate into an empty one"
        )
    with tempfile.TemporaryDirectory(prefix="deskchat-migrate-") as tmp:
        dump = Path(tmp) / "data.json"
        call_command(
            "dumpdata",
            database=SOURCE,
            natural_foreign=True,
            natural_primary=True,
            exclude=EXCLUDE,
            output=str(dump),
            verbosity=0,
        )
        # loaddata also moves each table's id sequence past the copied ids.
        call_command("loaddata", str(dump), database="default", verbosity=0)
    counts = {}
    for model in models:
        label = model._meta.label
        before = model.objects.using(SOURCE).count()
        after = model.objects.using("default").count()
        if before != after:
            raise ConfigError(f"{label}: {before} rows in SQLite but {after} in PostgreSQL")
        counts[label] = after
    return counts


def _copied(model) -> bool:
    label = model._meta.label_lower
    return label not in EXCLUDE and model._meta.app_label not in EXCLUDE
