"""apt can install the .deb on a bare system: every dependency resolves from the archive.

The CI machine already has WebKitGTK (.ci/run installs it for the window tests), so
``apt-get install ./deskchat_*.deb`` there proves little about ``Depends``. Here apt
simulates the install (``-s``: nothing is downloaded, installed or locked) against a dpkg
status that holds only a minimal Debian, the packages of priority ``required`` (what
debootstrap's minbase installs), so it must take every other dependency from its lists,
as on a fresh installation. Its package caches are turned off so that the fake status never
lands in /var/cache/apt.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import Build
from tests.support.tools import require, require_executable

pytestmark = pytest.mark.packaging

DPKG_STATUS = Path("/var/lib/dpkg/status")
LISTS = Path("/var/lib/apt/lists")
# What the GTK build loads from the system: the engine, its introspection data, PyGObject's
# and pycairo's libraries.
ENGINE = {"libwebkit2gtk-4.1-0", "gir1.2-webkit2-4.1", "libgtk-3-0", "gir1.2-gtk-3.0"}
GI = {"libgirepository-1.0-1", "gir1.2-glib-2.0", "libglib2.0-0", "libffi8", "libcairo2"}


def minimal_status(path: Path) -> set[str]:
    """Write a minimal Debian's dpkg status to ``path``: this machine's ``required`` and
    ``Essential`` packages and what they depend on (libraries are ``optional`` now), so the
    status is consistent; returns their names."""
    installed = {}
    for stanza in DPKG_STATUS.read_text(encoding="utf-8").split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.MULTILINE))
        if fields.get("Status") == "install ok installed":
            installed[fields["Package"]] = (fields, stanza.strip("\n"))
    wanted = [
        name
        for name, (fields, _) in installed.items()
        if fields.get("Priority") == "required" or fields.get("Essential") == "yes"
    ]
    kept: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in kept:
            continue
        kept.add(name)
        fields = installed[name][0]
        relations = ", ".join(filter(None, (fields.get("Pre-Depends"), fields.get("Depends"))))
        for relation in filter(None, (item.strip() for item in relations.split(","))):
            choices = [re.split(r"[\s:(]", alt.strip())[0] for alt in relation.split("|")]
            wanted.extend(choice for choice in choices[:1] if choice in installed)
            if not any(choice in installed for choice in choices):
                continue  # a virtual package; its provider is required anyway
            if choices[0] not in installed:
                wanted.append(next(choice for choice in choices if choice in installed))
    path.write_text("\n\n".join(installed[name][1] for name in sorted(kept)) + "\n", "utf-8")
    return kept


def simulate_install(deb: Path, status: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "apt-get",
            "-s",
            "-q",
            "-o",
            f"Dir::State::status={status}",
            "-o",
            "Dir::Cache::pkgcache=",
            "-o",
            "Dir::Cache::srcpkgcache=",
            "-o",
            "APT::Install-Recommends=false",
            "install",
            str(deb.resolve()),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_apt_resolves_every_dependency_from_a_minimal_system(package_build: Build, tmp_path):
    require_executable("apt-get", "Debian or Ubuntu")
    require(any(LISTS.glob("*_Packages*")), "apt has no package lists: run apt-get update first")
    base = minimal_status(tmp_path / "status")
    assert {"dpkg", "coreutils", "libc6"} <= base and "libgtk-3-0" not in base, sorted(base)

    result = simulate_install(package_build.deb, tmp_path / "status")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "unmet dependencies" not in output and "\nE: " not in output, output
    # "Inst NAME (VERSION ...)" for a new package, "Inst NAME [OLD] (NEW ...)" for an upgrade.
    inst = dict(re.findall(r"^Inst (\S+)( \[)?", result.stdout, re.MULTILINE))
    assert "deskchat" in inst, output
    # The engine comes from the archive; of GI's libraries the base may have some (libffi8).
    assert inst.keys() >= ENGINE, f"apt would not install {sorted(ENGINE - inst.keys())}"
    missing = GI - inst.keys() - base
    assert not missing, f"neither in the base nor installed: {sorted(missing)}:\n{output}"
    # The base counts as installed: at most a newer version of one of its packages.
    reinstalled = sorted(name for name, upgrade in inst.items() if name in base and not upgrade)
    assert not reinstalled, reinstalled
