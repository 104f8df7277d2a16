"""A tiny run of ``python -m bench.fts_options``, so the benchmark cannot rot (no timing is
asserted: the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.fts_options import VARIANTS
from tests.support.server import ROOT


def test_fts_options_bench_reports_every_variant_and_batch():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.fts_options",
            "--preload",
            "500",
            "--messages",
            "100",
            "--rounds",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)["cpu_us_per_message"]
    assert set(figures) == {f"{name}, batch {batch}" for name in VARIANTS for batch in (1, 50)}
    assert all(isinstance(value, float) and value >= 0 for value in figures.values())
