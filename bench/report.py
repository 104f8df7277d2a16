"""Ratios to the reference, the issue's targets, and the printed table."""

from __future__ import annotations

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


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: dict[str, dict[str, Any]]) -> str:
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
        for t in result.get("targets", []):
            mark = "ok  " if t["ok"] else "MISS"
            lines.append(f"  [{mark}] {name} {t['check']}: {t['value']} (target {t['target']})")
    return "\n".join(lines)
