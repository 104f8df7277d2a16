"""``python -m bench.engines`` runs end to end and prints its figures for both engines."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.desktop.launcher import ENGINES, require_engine
from tests.support.server import ROOT, server_env
from tests.support.tools import require_executable

pytestmark = [pytest.mark.window, pytest.mark.process]


def test_engine_comparison_prints_start_and_memory_for_both():
    for tool in ("Xvfb", "import", "convert"):
        require_executable(tool)
    for engine in ENGINES:
        require_engine(engine)
    done = subprocess.run(
        [sys.executable, "-m", "bench.engines", "--runs", "1"],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for engine in ENGINES:
        summary = re.search(
            rf"^{engine}: start median ([\d.]+) s .* PSS median (\d+) MiB; (\d+) processes$",
            done.stdout,
            re.M,
        )
        assert summary, done.stdout
        seconds, pss, processes = float(summary[1]), int(summary[2]), int(summary[3])
        # A window with a web engine: more than the app's own process, and real memory.
        assert seconds > 0 and pss > 50 and processes >= 2, summary[0]
