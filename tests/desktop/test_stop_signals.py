"""Every SIGTERM is a clean stop, from the first line of the process on (desktop/shutdown.py).

The frozen app's run of the same test is tests/packaging/test_stop_signals.py.
"""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from tests.support.server import ROOT
from tests.support.stopping import MOMENTS, stop_many

pytestmark = pytest.mark.process


def test_fifty_starts_stopped_by_sigterm_at_every_moment_exit_0(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    stops = stop_many([sys.executable, "-m", "desktop"], tmp_path)
    assert len(stops) == 50
    assert Counter(stop.moment for stop in stops) == Counter(MOMENTS * 10)
    unclean = [str(stop) for stop in stops if not stop.clean]
    assert not unclean, "\n".join(unclean)
