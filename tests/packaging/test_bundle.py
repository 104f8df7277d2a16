"""What the one-folder app, the .deb and the .tar.gz contain (no installation needed)."""

from __future__ import annotations

import subprocess
import tarfile

import pytest

from tests.packaging.conftest import Build

pytestmark = pytest.mark.packaging

SHIPPED_LANGUAGES = {"en", "ru"}


def test_app_folder_bundles_our_files_and_the_qt_web_engine(package_build: Build):
    internal = package_build.app / "_internal"
    assert package_build.executable.is_file()
    for relative in (
        "ui/templates/base.html",
        "ui/static/css/app.css",
        "ui/static/img/icon.svg",
        "icons/deskchat-256.png",
        "autobahn/nvx/_utf8validator.c",  # read by autobahn at import time
        "PyQt6/Qt6/libexec/QtWebEngineProcess",
        "PyQt6/Qt6/resources/qtwebengine_resources.pak",
        "PyQt6/Qt6/plugins/platforms/libqxcb.so",
    ):
        assert (internal / relative).exists(), relative
    # Migrations are Python modules inside the archive; the admin's static files are data.
    assert (internal / "django/contrib/admin/static/admin/css/base.css").exists()


def test_app_folder_leaves_out_tests_dev_tools_and_other_gui_backends(package_build: Build):
    internal = package_build.app / "_internal"
    for unwanted in (
        "pytest",
        "_pytest",
        "hypothesis",
        "playwright",
        "tkinter",
        "_tkinter",
        "gi",
        "cefpython3",
        "PyQt5",
        "PySide6",
        "psycopg",
        "redis",
        "PyQt6/Qt6/qml",
    ):
        assert not (internal / unwanted).exists(), unwanted
    assert not list(internal.glob("lib-dynload/_tkinter*"))
    assert not list(internal.rglob("*.sqlite3")), "a database slipped into the bundle"
    assert not list(internal.glob("libgtk-3*")), "GTK came along with a Qt plugin"


def test_only_shipped_translations_are_bundled(package_build: Build):
    locale = package_build.app / "_internal" / "django" / "conf" / "locale"
    languages = {path.name.split("_")[0] for path in locale.iterdir() if path.is_dir()}
    assert languages <= SHIPPED_LANGUAGES | {"__pycache__"}, languages
    assert (locale / "ru" / "LC_MESSAGES" / "django.mo").exists()
    pak = package_build.app / "_internal/PyQt6/Qt6/translations/qtwebengine_locales"
    assert {p.stem.split("-")[0] for p in pak.glob("*.pak")} <= SHIPPED_LANGUAGES


def test_frozen_binary_answers_version(package_build: Build):
    result = subprocess.run(
        [str(package_build.executable), "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Deskchat ")


def test_deb_layout_and_dependencies(package_build: Build):
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(package_build.deb)], capture_output=True, text=True, check=True
    ).stdout
    assert "./opt/deskchat/deskchat" in listing
    assert "./usr/bin/deskchat -> /opt/deskchat/deskchat" in listing
    assert "./usr/share/applications/deskchat.desktop" in listing
    assert "./usr/share/icons/hicolor/256x256/apps/deskchat.png" in listing
    assert "./usr/share/icons/hicolor/scalable/apps/deskchat.svg" in listing
    assert "root/root" in listing.splitlines()[0]

    def field(name: str) -> str:
        return subprocess.run(
            ["dpkg-deb", "-f", str(package_build.deb), name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert field("Package") == "deskchat"
    depends = field("Depends")
    for library in (
        "libxcb-cursor0",
        "libnss3",
        "libxkbcommon-x11-0",
        "libgbm1",
        "libegl1",
        "libasound2",
        "libxcomposite1",
        "libxdamage1",
        "libxtst6",
    ):
        assert library in depends, library


def test_tarball_runs_from_anywhere(package_build: Build, tmp_path):
    with tarfile.open(package_build.tarball) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        assert f"{top}/deskchat" in names and f"{top}/deskchat.desktop" in names
        tar.extractall(tmp_path, filter="tar")
    result = subprocess.run(
        [str(tmp_path / top / "deskchat"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
