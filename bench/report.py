"""Ratios to the reference, the issue's targets, medians over runs, and the printed table."""

from __future__ import annotations

import statistics
from typing import Any

# Shown in the table in this order (the JSON has every figure).
ROWS = [
    "clients",
    "connect_failures",
    "connect_p50_ms",
    "connect_p99_ms",
    "messages_sent",
    "acks",
    "refused",
    "deliveries_expected",
    "deliveries_received",
    "lost",
    "duplicates",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "ack_p50_ms",
    "ack_p99_ms",
    "deliveries_per_s",
    "server_rss_before_clients_mb",
    "server_rss_mb",
    "server_peak_rss_mb",
    "rss_per_client_kb",
    "server_cpu_pct",
    "server_cpu_us_per_delivery",
    "settle_after_connect_s",
    "closed_by_server",
    "connect_ms",
    "join_first_ms",
    "join_median_ms",
    "join_max_ms",
    "history_page_median_ms",
    "history_page_max_ms",
    "resume_messages",
    "resume_ms",
    "stored_messages",
    "database_mb",
    "cold_start_median_ms",
    "cold_start_max_ms",
    "first_run_with_migrations_ms",
]


# The figures some target reads, kept for every run under ``result["runs"]`` so the spread
# between runs stays visible next to the medians.
TARGET_FIGURES = [
    "deliveries_per_s",
    "latency_p99_ms",
    "connect_p99_ms",
    "connect_failures",
    "lost",
    "duplicates",
    "server_rss_mb",
    "join_max_ms",
    "history_page_max_ms",
    "cold_start_median_ms",
    "resume_messages",
    "resume_error",
]

# Checks a median would excuse but must hold in each run: one lost message is a bug, however
# many other runs were clean.
EVERY_RUN = {"ran", "every client connects", "no loss", "no duplicates", "resume complete"}

SECTIONS = ("deskchat", "reference", "ratio")

# What each run's line under a scenario's table shows: (label, figure, unit).
RUN_LINE = {
    "S1": [("deliveries/s", "deliveries_per_s", "")],
    "S2": [
        ("deliveries/s", "deliveries_per_s", ""),
        ("p99", "latency_p99_ms", " ms"),
        ("connect p99", "connect_p99_ms", " ms"),
    ],
    "S3": [("deliveries/s", "deliveries_per_s", "")],
    "S4": [("RSS", "server_rss_mb", " MB")],
    "S5": [
        ("join max", "join_max_ms", " ms"),
        ("page max", "history_page_max_ms", " ms"),
        ("resumed", "resume_messages", ""),
    ],
    "S6": [("cold start", "cold_start_median_ms", " ms")],
}


def add_ratios(result: dict[str, Any]) -> None:
    """Each Deskchat figure divided by the reference's, where both exist and are non-zero."""
    ours, ref = result.get("deskchat", {}), result.get("reference")
    if not ref:
        return
    result["ratio"] = {
        key: round(value / ref[key], 2)
        for key, value in ours.items()
        if isinstance(value, int | float) and isinstance(ref.get(key), int | float) and ref[key]
    }


def check(name: str, ok: bool, value: Any, target: str) -> dict[str, Any]:
    return {"check": name, "ok": bool(ok), "value": value, "target": target}


def targets(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets that apply to one scenario's result."""
    ours, ratio = result.get("deskchat", {}), result.get("ratio", {})
    if "error" in result or not ours:
        return [check("ran", False, result.get("error", "no figures"), "completes")]
    found = []
    if ours.get("connect_failures"):
        found.append(check("every client connects", False, ours["connect_failures"], "0"))
    if "lost" in ours:
        found.append(check("no loss", ours["lost"] == 0, ours["lost"], "0"))
        found.append(check("no duplicates", ours["duplicates"] == 0, ours["duplicates"], "0"))
    if name == "S1" and "deliveries_per_s" in ratio:
        found.append(
            check(
                "deliveries/s vs limit",
                ratio["deliveries_per_s"] >= 0.40,
                ratio["deliveries_per_s"],
                ">= 0.40",
            )
        )
    if name == "S2":
        if "latency_p99_ms" in ratio:
            found.append(
                check(
                    "p99 vs limit",
                    ratio["latency_p99_ms"] <= 3.0,
                    ratio["latency_p99_ms"],
                    "<= 3.0x",
                )
            )
        found.append(
            check("p99 latency", ours["latency_p99_ms"] < 100, ours["latency_p99_ms"], "< 100 ms")
        )
        found.append(
            check("connect p99", ours["connect_p99_ms"] < 200, ours["connect_p99_ms"], "< 200 ms")
        )
    if name == "S4":
        found.append(
            check("idle RSS", ours["server_rss_mb"] < 150, ours["server_rss_mb"], "< 150 MB")
        )
    if name == "S5":
        found.append(check("join", ours["join_max_ms"] < 20, ours["join_max_ms"], "< 20 ms"))
        found.append(
            check(
                "history page",
                ours["history_page_max_ms"] < 20,
                ours["history_page_max_ms"],
                "< 20 ms",
            )
        )
        found.append(
            check(
                "resume complete",
                ours["resume_messages"] == ours["resume_expected"],
                ours["resume_messages"],
                str(ours["resume_expected"]),
            )
        )
    if name == "S6":
        found.append(
            check(
                "cold start",
                ours["cold_start_median_ms"] < 1000,
                ours["cold_start_median_ms"],
                "< 1000 ms",
            )
        )
    return found


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _median(values: list[int | float]) -> int | float:
    """statistics.median, but a count stays a whole number when the median is one."""
    middle = statistics.median(values)
    whole = all(isinstance(v, int) for v in values) and middle == int(middle)
    return int(middle) if whole else middle


def median_result(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run, with each numeric figure replaced by its median over ``runs``.

    A median, not a mean, so one run that a busy minute of the machine slowed does not pull
    the figure. Ratios are the median of each run's own ratio (Deskchat and the reference ran
    back to back in that run), not a ratio of medians, which would pair figures measured
    minutes apart. Lists, strings and None cannot be averaged and come from the first run.
    """
    first = runs[0]
    merged = dict(first)
    for section in SECTIONS:
        if not isinstance(first.get(section), dict):
            continue
        merged[section] = {
            key: _median(
                [run[section][key] for run in runs if _number((run.get(section) or {}).get(key))]
            )
            if _number(value)
            else value
            for key, value in first[section].items()
        }
    return merged


def targets_over_runs(
    name: str, result: dict[str, Any], runs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Targets on the median ``result``, except the EVERY_RUN checks, which each run must pass."""
    seen: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, run in enumerate(runs, 1):
        for found in targets(name, run):
            if found["check"] in EVERY_RUN:
                seen.setdefault(found["check"], []).append((number, found))
    checks = []
    for per_run in seen.values():
        missed = [number for number, found in per_run if not found["ok"]]
        shown = next((found for _, found in per_run if not found["ok"]), per_run[0][1])
        checks.append(
            {
                **shown,
                "ok": not missed,
                "target": f"{shown['target']} in every run",
                "missed_in_runs": missed,
            }
        )
    medians = {key: value for key, value in result.items() if key != "error"}
    checks += [t for t in targets(name, medians) if t["check"] not in EVERY_RUN]
    return checks


def run_figures(number: int, run: dict[str, Any]) -> dict[str, Any]:
    """What ``result["runs"]`` keeps of one run: its error, or the figures a target reads."""
    if "error" in run:
        return {"run": number, "error": run["error"], "wall_s": run.get("wall_s")}
    kept: dict[str, Any] = {"run": number}
    for section in SECTIONS:
        if run.get(section):
            kept[section] = {k: run[section][k] for k in TARGET_FIGURES if k in run[section]}
    kept["wall_s"] = run.get("wall_s")
    return kept


def combine(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's result from its runs, each with its own ratios (``add_ratios``).

    Failed runs are reported under ``error`` and left out of the medians; the "ran" check
    then misses, so a full run with a failure still exits 1.
    """
    if len(runs) == 1:
        return runs[0]
    done = [run for run in runs if "error" not in run]
    result = median_result(done) if done else dict(runs[0])
    result.pop("error", None)
    failures = [f"run {n}: {run['error']}" for n, run in enumerate(runs, 1) if "error" in run]
    if failures:
        result["error"] = "; ".join(failures)
    result["targets"] = targets_over_runs(name, result, runs)
    result["runs"] = [run_figures(n, run) for n, run in enumerate(runs, 1)]
    result["wall_s"] = round(sum(run.get("wall_s") or 0 for run in runs), 1)
    return result


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _run_line(name: str, run: dict[str, Any]) -> str:
    """One run's key figures on a line, e.g. ``run 2: deliveries/s 18,204 vs 45,100 (0.40)``."""
    if "error" in run:
        return f"  run {run['run']}: failed: {run['error']}"
    ours, ref = run.get("deskchat", {}), run.get("reference") or {}
    ratio = run.get("ratio", {})
    parts = []
    for label, key, unit in RUN_LINE.get(name, []):
        if key not in ours:
            continue
        part = f"{label} {_cell(ours[key])}{unit}"
        if key in ref:
            part += f" vs {_cell(ref[key])}{unit}"
        if key in ratio:
            part += f" ({_cell(ratio[key])})"
        parts.append(part)
    for key in ("connect_failures", "lost", "duplicates"):
        if ours.get(key):
            parts.append(f"{key.replace('_', ' ')} {ours[key]:,}")
    return f"  run {run['run']}: {', '.join(parts) or 'ok'}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """Each scenario's figures (medians when it ran more than once), its runs, its targets."""
    lines = []
    for name, result in results.items():
        lines.append("")
        lines.append(result["title"])
        if result.get("limits_raised"):
            raised = ", ".join(f"{k}={v}" for k, v in result["limits_raised"].items())
            lines.append(f"  (protective limits raised on purpose: {raised})")
        ours, ref = result.get("deskchat", {}), result.get("reference") or {}
        ratio = result.get("ratio", {})
        lines.append(f"  {'figure':<30}{'deskchat':>14}{'reference':>14}{'ratio':>9}")
        for key in ROWS:
            if key in ours:
                lines.append(
                    f"  {key:<30}{_cell(ours[key]):>14}{_cell(ref.get(key)):>14}"
                    f"{_cell(ratio.get(key)):>9}"
                )
        lines.extend(_run_line(name, run) for run in result.get("runs", []))
        for t in result.get("targets", []):
            mark = "ok  " if t["ok"] else "MISS"
            missed = t.get("missed_in_runs")
            where = f"; missed in run {', '.join(map(str, missed))}" if missed else ""
            lines.append(
                f"  [{mark}] {name} {t['check']}: {t['value']} (target {t['target']}{where})"
            )
    return "\n".join(lines)
