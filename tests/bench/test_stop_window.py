"""``python -m bench.stop_window`` runs end to end and prints a row per command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def test_stop_window_prints_killed_counts_per_command_and_delay():
    done = subprocess.run(
        [sys.executable, "-m", "bench.stop_window", "--rounds", "3", "--delays", "0,1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = {
        line.split(" | ")[0]: line.split(" | ")[1:]
        for line in done.stdout.splitlines()
        if " | " in line
    }
    assert rows.pop("killed of 3") == ["0 ms", "1 ms"]
    assert len(rows) == 4 and all(len(counts) == 2 for counts in rows.values()), rows
    # The interpreter alone never blocks the signal: an instant SIGTERM always kills it.
    assert rows["python -c pass (no launcher)"][0] == "3"
