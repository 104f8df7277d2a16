"""A tiny run of the benchmark, so ``python -m bench`` cannot rot (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.server import ROOT

pytestmark = pytest.mark.process


def test_quick_run_covers_every_scenario_without_loss(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
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
    assert "S1: " in result.stdout and "[ok  ]" in result.stdout


@pytest.mark.parametrize(
    ("scenario", "variant"),
    [("S1", "channels-dispatch"), ("S6", "full-migrate")],  # undone after set-up / before start
)
def test_variant_runs_the_real_entry_with_one_change_undone(tmp_path, scenario, variant):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            scenario,
            "--quick",
            "--no-reference",
            "--variant",
            variant,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Deskchat benchmark ({variant})" in result.stdout
