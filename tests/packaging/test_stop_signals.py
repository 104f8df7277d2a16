"""The frozen app (the .deb's build) stops cleanly on SIGTERM at any moment from its spawn on,
like the source tree (tests/desktop/test_stop_signals.py), started through its entry: the app
folder's ``deskchat``, build/linux/launcher.sh (the .deb's /usr/bin/deskchat links to it)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.packaging.conftest import Build
from tests.support.stopping import MOMENTS, stop_many

pytestmark = [pytest.mark.packaging, pytest.mark.process]


def test_the_entry_is_the_launcher_that_blocks_stop_signals(package_build: Build):
    for app in (package_build.gtk_app, package_build.qt_app):
        entry = (app / "deskchat").read_text(encoding="utf-8")
        assert entry.startswith("#!/usr/bin/env -S --block-signal=TERM,INT /bin/sh\n"), app
        assert (app / "deskchat-bin").read_bytes()[:4] == b"\x7fELF"


def test_fifty_frozen_starts_stopped_by_sigterm_exit_0(package_build: Build, tmp_path):
    stops = stop_many([str(package_build.gtk_executable)], tmp_path)
    assert len(stops) == 50
    seen = Counter(stop.moment for stop in stops)
    assert set(seen) == set(MOMENTS) and min(seen.values()) >= 50 // len(MOMENTS), seen
    unclean = [str(stop) for stop in stops if not stop.clean]
    assert not unclean, "\n".join(unclean)
