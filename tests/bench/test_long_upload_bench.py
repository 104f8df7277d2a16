"""A tiny run of ``python -m bench.long_upload``, so the benchmark cannot rot (no timing is
asserted: the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def test_long_upload_bench_runs_and_reports():
    result = subprocess.run(
        [sys.executable, "-m", "bench.long_upload", "--mb", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["file_mb"] == 4 and report["status_line"] == "HTTP/1.1 201 Created"
    assert report["requests_cut"] == 0 and report["server_exit_code"] == 0
