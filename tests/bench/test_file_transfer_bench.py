"""A tiny run of ``python -m bench.file_transfer``, so the upload benchmark cannot rot (no timing is
asserted: the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def test_upload_bench_runs_and_reports_every_figure():
    result = subprocess.run(
        [sys.executable, "-m", "bench.file_transfer", "--mb", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["file_mb"] == 4 and report["download_intact"] is True
    assert report["server_exit_code"] == 0 and report["server_log_problems"] == []
    for key in ("upload_mb_per_s", "download_mb_per_s", "server_peak_rss_mb_upload"):
        assert report[key] > 0, key
    chat = report["chat_ack_round_trip"]
    assert chat["before"]["acks"] > 0  # a 4 MiB transfer may be over before another ack
