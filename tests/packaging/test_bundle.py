"""What the one-folder apps, the .deb and the .tar.gz contain (no installation needed)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.packaging.conftest import Build

pytestmark = pytest.mark.packaging

SHIPPED_LANGUAGES = {"en", "ru"}
MiB = 2**20
# Issue 15: the .deb on the system's web engine stays small (release compression, xz).
DEB_LIMIT = 40 * MiB
GTK_APP_LIMIT = 150 * MiB


def folder_size(path: Path) -> int:
    return sum(item.lstat().st_size for item in path.rglob("*") if item.is_file())


def test_gtk_app_folder_has_pygobject_and_no_gtk_webkit_or_qt(package_build: Build):
    internal = package_build.gtk_app / "_internal"
    assert package_build.gtk_executable.is_file()
    for relative in ("ui/templates/base.html", "ui/static/css/app.css", "icons/deskchat-256.png"):
        assert (internal / relative).exists(), relative
    assert list((internal / "gi").glob("_gi.cpython-*.so")), "PyGObject's extension is missing"
    assert not (internal / "PyQt6").exists()
    assert not (internal / "gi_typelibs").exists(), "typelibs come from the system"
    assert not (internal / "share").exists(), "GTK's data comes from the system"
    for system in (
        "libgtk-3.so*",
        "libgdk-3.so*",
        "libwebkit2gtk-*",
        "libjavascriptcoregtk-*",
        "libsoup-*",
        "libglib-2.0.so*",
        "libgobject-2.0.so*",
        "libgirepository-*",
        "libcairo.so*",
        "libQt6*",
    ):
        assert not list(internal.rglob(system)), f"{system} is bundled"
    assert folder_size(package_build.gtk_app) < GTK_APP_LIMIT


def test_qt_app_folder_bundles_our_files_and_the_qt_web_engine(package_build: Build):
    internal = package_build.qt_app / "_internal"
    assert package_build.qt_executable.is_file()
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


@pytest.mark.parametrize("engine", ["gtk", "qt"])
def test_app_folder_leaves_out_tests_dev_tools_and_other_gui_backends(
    package_build: Build, engine: str
):
    internal = (package_build.gtk_app if engine == "gtk" else package_build.qt_app) / "_internal"
    other_engine = ["PyQt6"] if engine == "gtk" else ["gi", "PyQt6/Qt6/qml"]
    for unwanted in (
        *other_engine,
        "pytest",
        "_pytest",
        "hypothesis",
        "playwright",
        "tkinter",
        "_tkinter",
        "cefpython3",
        "PyQt5",
        "PySide6",
        "psycopg",
        "redis",
    ):
        assert not (internal / unwanted).exists(), unwanted
    assert not list(internal.glob("lib-dynload/_tkinter*"))
    assert not list(internal.rglob("*.sqlite3")), "a database slipped into the bundle"
    assert not list(internal.glob("libgtk-3*")), "GTK came along with a Qt plugin"


@pytest.mark.parametrize("engine", ["gtk", "qt"])
def test_only_shipped_translations_are_bundled(package_build: Build, engine: str):
    app = package_build.gtk_app if engine == "gtk" else package_build.qt_app
    locale = app / "_internal" / "django" / "conf" / "locale"
    languages = {path.name.split("_")[0] for path in locale.iterdir() if path.is_dir()}
    assert languages <= SHIPPED_LANGUAGES | {"__pycache__"}, languages
    assert (locale / "ru" / "LC_MESSAGES" / "django.mo").exists()
    if engine == "gtk":
        return
    pak = package_build.qt_app / "_internal/PyQt6/Qt6/translations/qtwebengine_locales"
    assert {p.stem.split("-")[0] for p in pak.glob("*.pak")} <= SHIPPED_LANGUAGES


@pytest.mark.parametrize("engine", ["gtk", "qt"])
def test_frozen_binary_answers_version(package_build: Build, engine: str):
    executable = package_build.gtk_executable if engine == "gtk" else package_build.qt_executable
    result = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Deskchat ")


def test_deb_layout_and_dependencies(package_build: Build):
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(package_build.deb)], capture_output=True, text=True, check=True
    ).stdout
    assert "./opt/deskchat/deskchat" in listing  # build/linux/launcher.sh
    assert "./opt/deskchat/deskchat-bin" in listing
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
    depends = [item.strip() for item in field("Depends").split(",")]
    names = {alternative.split()[0] for item in depends for alternative in item.split("|")}
    # The system's web engine, its introspection data and PyGObject's libraries.
    for package in (
        "gir1.2-webkit2-4.1",
        "libwebkit2gtk-4.1-0",
        "gir1.2-gtk-3.0",
        "libgtk-3-0",
        "libgirepository-1.0-1",
        "libglib2.0-0",
        "libcairo2",
        "libc6",
    ):
        assert package in names, (package, depends)
    # Nothing of Qt WebEngine's system libraries any more.
    assert not names & {"libxcb-cursor0", "libnss3", "libxkbcommon-x11-0", "libasound2"}, names
    # The libraries Debian 13 / Ubuntu 24.04 renamed (64-bit time_t) have both names.
    assert "libgtk-3-0t64 | libgtk-3-0" in depends and "libglib2.0-0t64 | libglib2.0-0" in depends
    # Of each relation, one alternative at least exists on this machine's apt sources
    # (tests/packaging/test_apt_resolution.py has apt resolve them all).
    for item in depends:
        choices = [alternative.split()[0] for alternative in item.split("|")]
        known = [
            name
            for name in choices
            if subprocess.run(["apt-cache", "show", name], capture_output=True, text=True).stdout
        ]
        assert known, f"apt knows none of {item}"


def test_deb_licence_names_what_it_ships(package_build: Build, tmp_path):
    """No PyQt6 in the .deb, so no GPL clause for it; PyGObject and pycairo are LGPL."""
    subprocess.run(["dpkg-deb", "-x", str(package_build.deb), str(tmp_path)], check=True)
    text = (tmp_path / "usr/share/doc/deskchat/copyright").read_text()
    assert "PyQt6" not in text and "GPL-3" not in text
    assert "PyGObject" in text and "LGPL-2.1" in text
    assert not (tmp_path / "opt/deskchat/_internal/PyQt6").exists()


def test_deb_and_its_app_folder_are_lean(package_build: Build):
    """Issue 15: under 40 MB and 150 MB. The tests build with gzip (faster); a release .deb is
    xz, smaller still, so the gzip one meeting the limit is the stricter check."""
    assert package_build.deb.stat().st_size < DEB_LIMIT, package_build.deb.stat().st_size
    assert folder_size(package_build.gtk_app) < GTK_APP_LIMIT


def test_tarball_runs_from_anywhere(package_build: Build, tmp_path):
    with tarfile.open(package_build.tarball) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        assert f"{top}/deskchat" in names and f"{top}/deskchat.desktop" in names
        assert f"{top}/_internal/PyQt6" in names, "the tarball carries Qt WebEngine"
        tar.extractall(tmp_path, filter="tar")
    assert "GPL" in (tmp_path / top / "copyright").read_text()  # it bundles PyQt6
    result = subprocess.run(
        [str(tmp_path / top / "deskchat"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
