"""Start-up shortcuts in desktop.bootstrap: each makes a start cheaper and changes nothing else."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from desktop import bootstrap
from tests.support.server import ROOT

# A migration as a new release would ship it, for an app that had none before.
PROBE_MIGRATION = """
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.RunSQL("CREATE TABLE bootstrap_probe (id integer)", "DROP TABLE bootstrap_probe")
    ]
"""


def test_migration_files_are_found_as_djangos_loader_finds_them():
    loader = MigrationLoader(None, ignore_no_migrations=True)  # reads files only
    assert bootstrap.migrations_on_disk() == set(loader.disk_migrations)


@pytest.mark.django_db
def test_migrate_is_skipped_when_every_migration_is_applied(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("migrate ran with nothing to apply")

    monkeypatch.setattr("django.core.management.call_command", refuse)
    assert bootstrap.migrations_pending() is False
    bootstrap.migrate()


@pytest.mark.django_db(transaction=True)
def test_a_new_migration_file_is_still_applied(tmp_path, monkeypatch):
    package = tmp_path / "probe_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_probe.py").write_text(PROBE_MIGRATION)
    monkeypatch.syspath_prepend(str(tmp_path))
    recorder = MigrationRecorder(connection)
    with override_settings(MIGRATION_MODULES={"messages": "probe_migrations"}):
        try:
            assert bootstrap.migrations_pending() is True
            bootstrap.migrate()
            assert ("messages", "0001_probe") in recorder.applied_migrations()
            assert "bootstrap_probe" in connection.introspection.table_names()
            assert bootstrap.migrations_pending() is False
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bootstrap_probe")
            recorder.record_unapplied("messages", "0001_probe")


def test_without_pyopenssl_twisted_leaves_tls_out_and_openssl_imports_again_after():
    # A fresh interpreter: this one may have imported pyOpenSSL already.
    code = (
        "import sys\n"
        "from desktop import bootstrap\n"
        "with bootstrap.without_pyopenssl():\n"
        "    import daphne.server\n"
        "from twisted.internet import tcp\n"
        "print('OpenSSL' in sys.modules, 'cryptography.x509' in sys.modules, tcp.Server.TLS)\n"
        "import OpenSSL\n"
        "print(OpenSSL.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["False False False", "OpenSSL"]


def test_gc_is_off_while_starting_and_on_again_after():
    assert gc.isenabled()
    try:
        with bootstrap.paused_gc():
            assert not gc.isenabled()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual
