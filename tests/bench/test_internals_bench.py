"""``python -m bench.internals`` runs, and each reach it times beats the stock way it replaces.

No time is asserted (machines here are shared); each reach is compared with the stock way in
the same run, where a reach that stopped paying for itself shows as a ratio under 1.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def test_each_reach_is_timed_against_the_stock_way_and_wins():
    result = subprocess.run(
        [sys.executable, "-m", "bench.internals", "--rounds", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Every timed section but the ones that only give a cost its scale (an empty loop).
    sections = [
        part for part in result.stdout.split("\n\n") if " µs " in part and "(for scale)" not in part
    ]
    assert len(sections) >= 7, result.stdout
    for section in sections:
        ratios = [float(x) for x in re.findall(r"([0-9.]+)x$", section, re.MULTILINE)]
        assert ratios[0] == 1.0, section  # ours first, the base of the ratios
        assert all(ratio > 1.0 for ratio in ratios[1:]), section
