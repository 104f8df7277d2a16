"""``python -m bench``: run the scenarios, print the table, then the JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import report, variants
from bench.scenarios import FULL, QUICK, SCENARIOS, Bench


def positive_int(text: str) -> int:
    """``--runs``: zero runs would report nothing and still exit 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Deskchat under WebSocket load, next to a bare websockets broadcast server.",
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="S",
        help=f"scenarios to run (default: all of {', '.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes: proves the benchmark works (the test suite uses it)",
    )
    parser.add_argument(
        "--variant",
        choices=sorted(variants.VARIANTS),
        default="",
        help="run Deskchat with one optimisation undone (bench/variants.py)",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the bare websockets server (no ratios)"
    )
    parser.add_argument(
        "--runs",
        type=positive_int,
        default=1,
        metavar="N",
        help="run each scenario N times, interleaved, and report medians (loss counts in any run)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    return parser


def machine() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("\n")
            if line.startswith("Model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_scenario(name: str, bench: Bench) -> dict[str, Any]:
    """One run of one scenario, with its own ratios and targets (a failure becomes ``error``)."""
    started = time.perf_counter()
    try:
        result = SCENARIOS[name](bench)
    except Exception as error:  # one broken scenario must not hide the others' figures
        result = {"title": f"{name}: failed", "error": f"{type(error).__name__}: {error}"}
    report.add_ratios(result)
    result["targets"] = report.targets(name, result)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    names = [s.upper() for s in args.scenarios] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="deskchat-bench-"))
    bench = Bench(
        workdir=workdir,
        sizes=QUICK if args.quick else FULL,
        variant=args.variant,
        reference=not args.no_reference,
    )
    output: dict[str, Any] = {
        "machine": machine(),
        "variant": args.variant or "shipped",
        "quick": args.quick,
        "runs": args.runs,
        "scenarios": {},
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    try:
        # Rounds of every scenario rather than one scenario N times in a row, so a slow minute
        # of a shared machine spreads over all scenarios instead of skewing one's median.
        for number in range(1, args.runs + 1):
            # Each run gets fresh data folders: a second seed or bulk insert into the first
            # run's database would measure a different scenario.
            round_bench = dataclasses.replace(bench, workdir=workdir / f"run{number}")
            round_bench.workdir.mkdir()
            for name in names:
                of = f" (run {number} of {args.runs})" if args.runs > 1 else ""
                print(f"running {name}{of}...", file=sys.stderr, flush=True)
                runs[name].append(run_scenario(name, round_bench))
            if not args.keep:  # S5's full database is large; do not keep N of them
                shutil.rmtree(round_bench.workdir, ignore_errors=True)
    finally:
        if args.keep:
            print(f"data folders kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    output["scenarios"] = {name: report.combine(name, results) for name, results in runs.items()}
    medians = f", median of {args.runs} runs" if args.runs > 1 else ""
    print(
        f"Deskchat benchmark ({output['variant']}){medians}, {output['machine']['date']}, "
        f"{output['machine']['cores']} cores, load {output['machine']['load_average']}"
    )
    print(report.table(output["scenarios"]))
    text = json.dumps(output, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    missed = [t for r in output["scenarios"].values() for t in r["targets"] if not t["ok"]]
    return 1 if missed and not args.quick else 0
