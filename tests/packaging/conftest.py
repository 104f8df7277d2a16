"""Build the frozen apps and their installers once per test session, and install the .deb.

Building takes a few minutes on two cores (two one-folder apps: the .deb's on the system's
WebKitGTK, the tarball's with Qt WebEngine), so every packaging test shares one build. Set
``DESKCHAT_PACKAGING_REUSE=1`` to test an existing ``dist/`` instead (while iterating on tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import ROOT
from tests.support.tools import require, require_executable

DIST = ROOT / "dist"
BUILD_LOG = ROOT / "artifacts" / "packaging-build.log"
PACKAGE = "deskchat"
BINARY = Path("/usr/bin/deskchat")
INSTALL_DIR = Path("/opt/deskchat")


@dataclass(frozen=True)
class Build:
    gtk_app: Path  # dist/gtk/deskchat: the .deb's one-folder app (system WebKitGTK)
    qt_app: Path  # dist/qt/deskchat: the tarball's (Qt WebEngine bundled)
    deb: Path
    tarball: Path

    @property
    def gtk_executable(self) -> Path:
        return self.gtk_app / "deskchat"

    @property
    def qt_executable(self) -> Path:
        return self.qt_app / "deskchat"


def _version() -> str:
    from chatserver import __version__

    return __version__


def _find(pattern: str) -> Path | None:
    found = sorted(DIST.glob(pattern))
    return found[-1] if found else None


@pytest.fixture(scope="session")
def package_build() -> Build:
    """``python build/package.py --formats deb,tar``, once per session."""
    require(sys.platform.startswith("linux"), "the .deb and .tar.gz are built on Linux")
    require_executable("dpkg-deb", "apt-get install dpkg-dev")
    version = _version()
    deb_glob, tar_glob = f"{PACKAGE}_{version}_*.deb", f"{PACKAGE}-{version}-linux-*.tar.gz"
    reuse = os.environ.get("DESKCHAT_PACKAGING_REUSE") == "1"
    if not (reuse and _find(deb_glob) and _find(tar_glob)):
        BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
        with open(BUILD_LOG, "w") as log:
            result = subprocess.run(
                # gzip: the same .deb layout in a fraction of xz's time on CI's two cores
                # (release builds use the default, xz; docs/packaging.md).
                [
                    sys.executable,
                    str(ROOT / "build" / "package.py"),
                    "--formats",
                    "deb,tar",
                    "--compression",
                    "gzip",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=1800,
            )
        if result.returncode != 0:
            tail = BUILD_LOG.read_text(errors="replace")[-4000:]
            pytest.fail(f"build/package.py failed ({result.returncode}):\n{tail}", pytrace=False)
    deb, tarball = _find(deb_glob), _find(tar_glob)
    assert deb and tarball, f"no installers in {DIST}: {sorted(p.name for p in DIST.iterdir())}"
    return Build(
        gtk_app=DIST / "gtk" / "deskchat", qt_app=DIST / "qt" / "deskchat", deb=deb, tarball=tarball
    )


def _apt_get(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )


def installed_status() -> str:
    """dpkg's status line for the package ("" when dpkg does not know it at all)."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else ""


@pytest.fixture(scope="session")
def installed(package_build: Build) -> Path:
    """The .deb installed as a person installs it, ``apt-get install ./deskchat_*.deb`` (apt
    resolves its Depends: WebKitGTK and the rest), removed and purged after; root only (CI's
    throwaway machine)."""
    require(hasattr(os, "geteuid") and os.geteuid() == 0, "apt-get needs root (CI runs as root)")
    require_executable("apt-get")
    result = _apt_get("install", str(package_build.deb.resolve()))
    if result.returncode != 0:
        _apt_get("purge", PACKAGE)
        pytest.fail(f"apt-get install failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    assert installed_status() == "install ok installed", installed_status()
    yield BINARY
    removed = _apt_get("remove", PACKAGE)
    assert removed.returncode == 0, removed.stderr
    purged = _apt_get("purge", PACKAGE)  # forget it entirely
    assert purged.returncode == 0, purged.stderr
    assert installed_status() in {"", "unknown ok not-installed"}, installed_status()
    assert not BINARY.exists() and not BINARY.is_symlink()
    assert not INSTALL_DIR.exists(), sorted(str(p) for p in INSTALL_DIR.rglob("*"))[:10]
    assert not Path("/usr/share/applications/deskchat.desktop").exists()
    assert not Path("/usr/share/icons/hicolor/256x256/apps/deskchat.png").exists()
