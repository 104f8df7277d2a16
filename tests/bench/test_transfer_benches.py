"""Tiny runs of the two file benchmarks, ``python -m bench.file_transfer`` and ``python -m
bench.long_upload``, so they cannot rot (no timing is asserted: the figures are in
docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def report_of(module: str, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return json.loads(result.stdout)


def test_file_transfer_bench_runs_and_reports_every_figure():
    report = report_of("bench.file_transfer", "--mb", "4")
    assert report["file_mb"] == 4 and report["download_intact"] is True
    assert report["server_exit_code"] == 0 and report["server_log_problems"] == []
    for key in ("upload_mb_per_s", "download_mb_per_s", "server_peak_rss_mb_upload"):
        assert report[key] > 0, key
    chat = report["chat_ack_round_trip"]
    assert chat["before"]["acks"] > 0  # a 4 MiB transfer may be over before another ack


def test_long_upload_bench_runs_and_reports():
    report = report_of("bench.long_upload", "--mb", "4")
    assert report["file_mb"] == 4 and report["status_line"] == "HTTP/1.1 201 Created"
    assert report["requests_cut"] == 0 and report["server_exit_code"] == 0
