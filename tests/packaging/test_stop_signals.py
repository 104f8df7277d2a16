"""The frozen app (the .deb's build) stops cleanly on SIGTERM at any moment of its start-up,
like the source tree (tests/desktop/test_stop_signals.py)."""

from __future__ import annotations

import pytest

from tests.packaging.conftest import Build
from tests.support.stopping import stop_many

pytestmark = [pytest.mark.packaging, pytest.mark.process]


def test_fifty_frozen_starts_stopped_by_sigterm_exit_0(package_build: Build, tmp_path):
    stops = stop_many([str(package_build.gtk_executable)], tmp_path)
    assert len(stops) == 50
    unclean = [str(stop) for stop in stops if not stop.clean]
    assert not unclean, "\n".join(unclean)
