"""A tiny run of the benchmark, so ``python -m bench`` cannot rot (no timing is asserted)."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from bench.server_processes import STOPPED_WITH
from tests.support import health
from tests.support.server import ROOT

pytestmark = pytest.mark.process


def run_bench(*args: str, out: Path | None = None, timeout: float = 600) -> tuple[dict, str]:
    """``python -m bench ARGS --json OUT``: the JSON it wrote and what it printed, once every
    Deskchat server of the run is known to have stopped cleanly (``servers_stayed_healthy``)."""
    json_args = ["--json", str(out)] if out is not None else []
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args, *json_args, "--keep"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    kept = re.search(r"data folders kept in (\S+)", result.stderr)
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert kept, result.stderr[-3000:]
        servers_stayed_healthy(Path(kept.group(1)))
    finally:
        if kept:
            shutil.rmtree(kept.group(1), ignore_errors=True)
    return (json.loads(out.read_text()) if out is not None else {}), result.stdout


def servers_stayed_healthy(workdir: Path) -> None:
    """Each Deskchat server the benchmark started (one data folder each, its stderr in
    ``server.log``) stopped with exit code 0 and logged no error (tests/support/health.py)."""
    logs = sorted(workdir.rglob("server.log"))
    assert logs, f"no server logs under {workdir}"
    for log in logs:
        text = log.read_text(errors="replace")
        codes = re.findall(rf"^{re.escape(STOPPED_WITH)} (-?\d+)$", text, re.MULTILINE)
        assert codes and set(codes) == {"0"}, f"{log}: exit codes {codes}\n{text[-3000:]}"
        found = health.problems(text)
        app_log = log.parent / "logs" / "deskchat.log"
        if app_log.exists():
            found += health.problems(app_log.read_text(errors="replace"))
        assert not found, f"{log.parent}:\n" + "\n".join(found)


def test_quick_run_covers_every_scenario_without_loss(tmp_path):
    data, stdout = run_bench("--quick", out=tmp_path / "bench.json")
    assert set(data["scenarios"]) == {"S1", "S2", "S3", "S4", "S5", "S6"}
    assert data["machine"]["cores"] >= 1
    for name in ("S1", "S2", "S3"):
        scenario = data["scenarios"][name]
        for server in ("deskchat", "reference"):
            figures = scenario[server]
            assert figures["deliveries_received"] == figures["deliveries_expected"] > 0, name
            assert figures["lost"] == 0 and figures["duplicates"] == 0, (name, server)
            assert figures["closed_by_server"] == 0, (name, server)
        assert scenario["ratio"]["deliveries_per_s"] > 0
        assert scenario["limits_raised"], f"{name} exceeds the rate limit on purpose: say so"
    s4 = data["scenarios"]["S4"]
    assert s4["deskchat"]["clients"] == s4["reference"]["clients"] > 0
    assert s4["deskchat"]["closed_by_server"] == 0
    s5 = data["scenarios"]["S5"]["deskchat"]
    assert s5["resume_error"] is None
    assert s5["resume_messages"] == s5["resume_expected"]
    assert s5["history_pages"] > 0 and s5["database_mb"] > 0
    assert data["scenarios"]["S6"]["deskchat"]["cold_start_median_ms"] > 0
    # The table is printed before the JSON, with a line per target.
    assert "S1: " in stdout and "[ok  ]" in stdout


def test_several_runs_report_medians_and_count_loss_in_each_run(tmp_path):
    data, stdout = run_bench("S1", "S6", "--quick", "--runs", "2", out=tmp_path / "bench.json")
    assert data["runs"] == 2
    assert set(data["scenarios"]) == {"S1", "S6"}
    for name, scenario in data["scenarios"].items():
        assert [r["run"] for r in scenario["runs"]] == [1, 2], name
        assert "error" not in scenario, scenario.get("error")
    s1 = data["scenarios"]["S1"]
    for server in ("deskchat", "reference", "ratio"):
        per_run = [r[server]["deliveries_per_s"] for r in s1["runs"]]
        assert s1[server]["deliveries_per_s"] == statistics.median(per_run), server
    for run in s1["runs"]:
        for server in ("deskchat", "reference"):
            assert run[server]["lost"] == 0 and run[server]["duplicates"] == 0, (run, server)
    loss = next(t for t in s1["targets"] if t["check"] == "no loss")
    assert loss["ok"] and loss["target"] == "0 in every run"
    s6 = data["scenarios"]["S6"]
    starts = [r["deskchat"]["cold_start_median_ms"] for r in s6["runs"]]
    assert s6["deskchat"]["cold_start_median_ms"] == statistics.median(starts) > 0
    assert "median of 2 runs" in stdout
    assert "  run 2: deliveries/s " in stdout and "  run 2: cold start " in stdout


@pytest.mark.parametrize(
    ("scenario", "variant"),
    [("S1", "channels-dispatch"), ("S6", "full-migrate")],  # undone after set-up / before start
)
def test_variant_runs_the_real_entry_with_one_change_undone(tmp_path, scenario, variant):
    _, stdout = run_bench(scenario, "--quick", "--no-reference", "--variant", variant, timeout=300)
    assert f"Deskchat benchmark ({variant})" in stdout
