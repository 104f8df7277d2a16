"""A tiny run of ``python -m bench.search``, so the search benchmark cannot rot (no timing is
asserted: only that every figure is there, every search was answered and the server stopped
cleanly)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def test_the_search_bench_runs_end_to_end(tmp_path):
    out = tmp_path / "search.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.search",
            "--messages",
            "3000",
            "--rounds",
            "1",
            "--write-rounds",
            "1",
            "--keep",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), result.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    try:
        assert figures["server_exit"] == 0
        log = (Path(figures["data_dir"]) / "logs" / "deskchat.log").read_text(encoding="utf-8")
        assert " ERROR " not in log and "Traceback" not in log
        assert figures["migrate_with_index_build_s"] > 0
        assert figures["database_mb_with_index"] > figures["database_mb_before_index"]
        search = figures["search"]
        assert search["queries"] >= 78  # 77 planned queries and at least one page
        kinds = search["by_kind"]
        assert kinds["common word (rank 1)"]["results"] == 20
        assert kinds["Cyrillic, upper case"]["results"] > 0
        assert kinds["hidden word (matches only elsewhere)"]["results"] == 0  # never leaks
        cost = figures["selector_in_process"]
        assert cost["queries"] == 77 and cost["cpu_p99_ms"] > 0
        writes = figures["write_path_us_per_message"]
        assert {"batch 1, indexed", "batch 1, no index", "batch 50, indexed"} <= set(writes)
    finally:
        shutil.rmtree(figures["data_dir"], ignore_errors=True)
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: a target missed
