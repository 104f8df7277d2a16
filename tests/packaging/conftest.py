"""Build the frozen app and its installers once per test session, and install the .deb.

Building takes a minute or two on two cores, so every packaging test shares one build. Set
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
    app: Path  # dist/deskchat, the one-folder app
    deb: Path
    tarball: Path

    @property
    def executable(self) -> Path:
        return self.app / "deskchat"


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
    return Build(app=DIST / "deskchat", deb=deb, tarball=tarball)


@pytest.fixture(scope="session")
def installed(package_build: Build) -> Path:
    """The .deb installed with ``dpkg -i`` (root only: CI's throwaway machine), removed after."""
    require(hasattr(os, "geteuid") and os.geteuid() == 0, "dpkg -i needs root (CI runs as root)")
    dpkg = require_executable("dpkg")
    result = subprocess.run([dpkg, "-i", str(package_build.deb)], capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run([dpkg, "-r", PACKAGE], capture_output=True)
        pytest.fail(f"dpkg -i failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    yield BINARY
    removed = subprocess.run([dpkg, "-r", PACKAGE], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    subprocess.run([dpkg, "--purge", PACKAGE], capture_output=True)  # forget it entirely
    assert not BINARY.exists() and not BINARY.is_symlink()
    assert not INSTALL_DIR.exists(), sorted(str(p) for p in INSTALL_DIR.rglob("*"))[:10]
    assert not Path("/usr/share/applications/deskchat.desktop").exists()
