"""Every SIGTERM is a clean stop, from the moment the process exists (desktop/shutdown.py).

Started with the run command README and the Makefile give (``make run``'s recipe: GNU env
blocks the stop signals until the app's handlers take over). The frozen app's run of the same
test is tests/packaging/test_stop_signals.py.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import Counter

import pytest

from tests.support.server import ROOT
from tests.support.stopping import MOMENTS, stop_many
from tests.support.tools import require_executable

pytestmark = pytest.mark.process


def run_command() -> list[str]:
    """What ``make run`` executes (``make -n``: printed, not run; the venv counts as set up)."""
    make = require_executable("make", "apt-get install make")
    # Not as a sub-make of `make test` (CI): its flags and level would change the output.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    printed = subprocess.run(
        [make, "-s", "-n", "--no-print-directory", "-o", ".venv/.installed", "run", "ARGS="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert len(printed.splitlines()) == 1, printed
    return shlex.split(printed)


def test_the_run_command_blocks_stop_signals_until_the_app_catches_them():
    command = run_command()
    assert command[:2] == ["env", "--block-signal=TERM,INT"], command
    assert command[-2:] == ["-m", "desktop"], command


def test_fifty_starts_stopped_by_sigterm_at_every_moment_exit_0(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    stops = stop_many(run_command(), tmp_path)
    assert len(stops) == 50
    seen = Counter(stop.moment for stop in stops)
    assert set(seen) == set(MOMENTS) and min(seen.values()) >= 50 // len(MOMENTS), seen
    unclean = [str(stop) for stop in stops if not stop.clean]
    assert not unclean, "\n".join(unclean)
