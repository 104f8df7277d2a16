"""Medians over runs (bench/report.py) on hand-made results: no server, no timing."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.cli import build_parser


def run(rate: float, ref_rate: float, *, lost: int = 0, note: str = "first") -> dict[str, Any]:
    """One S1 run as the CLI leaves it: figures, ratios and that run's own targets."""
    result: dict[str, Any] = {
        "title": f"S1: run noted {note}",
        "limits_raised": {"DESKCHAT_RATE_BURST": 20},
        "deskchat": {
            "clients": 4,
            "deliveries_per_s": rate,
            "latency_p99_ms": 10.0,
            "lost": lost,
            "duplicates": 0,
            "latencies_sample": [note],
        },
        "reference": {"clients": 4, "deliveries_per_s": ref_rate, "latency_p99_ms": 2.0},
        "wall_s": 1.5,
    }
    report.add_ratios(result)
    result["targets"] = report.targets("S1", result)
    return result


def by_check(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["check"]: t for t in result["targets"]}


def test_figures_are_medians_and_ratios_the_median_of_each_runs_ratio():
    runs = [run(100.0, 200.0), run(300.0, 400.0, note="second"), run(200.0, 1000.0)]
    result = report.combine("S1", runs)
    assert result["deskchat"]["deliveries_per_s"] == 200.0
    assert result["reference"]["deliveries_per_s"] == 400.0
    # Per-run ratios 0.5, 0.75, 0.2: their median, not 200 / 400 from the medians.
    assert result["ratio"]["deliveries_per_s"] == 0.5
    assert result["deskchat"]["clients"] == 4 and isinstance(result["deskchat"]["clients"], int)
    # Lists and strings cannot be averaged: they come from the first run.
    assert result["deskchat"]["latencies_sample"] == ["first"]
    assert result["title"] == "S1: run noted first"
    assert [r["deskchat"]["deliveries_per_s"] for r in result["runs"]] == [100.0, 300.0, 200.0]
    assert [r["ratio"]["deliveries_per_s"] for r in result["runs"]] == [0.5, 0.75, 0.2]
    assert "latencies_sample" not in result["runs"][0]["deskchat"]
    assert result["wall_s"] == 4.5
    checks = by_check(result)
    assert checks["deliveries/s vs limit"]["ok"] and checks["deliveries/s vs limit"]["value"] == 0.5
    assert checks["no loss"]["ok"] and checks["no loss"]["missed_in_runs"] == []


def test_a_loss_in_one_run_is_a_miss_even_when_the_median_loss_is_zero():
    result = report.combine("S1", [run(100.0, 200.0), run(100.0, 200.0, lost=3), run(100.0, 200.0)])
    assert result["deskchat"]["lost"] == 0
    loss = by_check(result)["no loss"]
    assert not loss["ok"]
    assert loss["value"] == 3 and loss["missed_in_runs"] == [2]
    assert by_check(result)["no duplicates"]["ok"]
    assert "missed in run 2" in report.table({"S1": result})


def test_a_failed_run_is_reported_and_left_out_of_the_medians():
    failed = {"title": "S1: failed", "error": "RuntimeError: boom"}
    failed["targets"] = report.targets("S1", failed)
    result = report.combine("S1", [run(100.0, 200.0), failed, run(300.0, 200.0)])
    assert result["error"] == "run 2: RuntimeError: boom"
    assert result["deskchat"]["deliveries_per_s"] == 200.0
    checks = by_check(result)
    assert not checks["ran"]["ok"] and checks["ran"]["missed_in_runs"] == [2]
    assert checks["deliveries/s vs limit"]["ok"]
    assert result["runs"][1] == {"run": 2, "error": "RuntimeError: boom", "wall_s": None}
    assert "run 2: failed: RuntimeError: boom" in report.table({"S1": result})


def test_one_run_is_reported_as_it_ran():
    single = run(100.0, 200.0)
    assert report.combine("S1", [single]) is single


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_runs_must_be_a_positive_whole_number(value, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--runs", value])
    assert "--runs" in capsys.readouterr().err
