"""A tiny run of ``python -m bench.unsent``, so the benchmark cannot rot (no timing is
asserted: the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.server import ROOT, server_env

pytestmark = pytest.mark.process


def test_unsent_bench_removes_every_row_and_file_and_reports():
    result = subprocess.run(
        [sys.executable, "-m", "bench.unsent", "--files", "250"],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert (report["removed"], report["contents_removed"]) == (250, 250)
    assert (report["rows_left"], report["files_left_on_disk"]) == (0, 0)
    assert report["calls"] == 3 and report["call_ms_max"] > 0
