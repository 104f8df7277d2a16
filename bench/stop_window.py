"""How long after exec a SIGTERM still kills a process before anything in it can catch it.

    python -m bench.stop_window [--rounds 200] [--delays 0,0.5,1,2,5,20]

Each round starts a command and sends SIGTERM a given delay (ms, busy-waited) after
``Popen`` returns (the command has been exec'd; nothing of it has necessarily run yet). A
process the signal kills exits -15: it arrived before the signal was blocked (or caught). Each
command here ends in ``true``, which exits 0 and drops a signal still pending, so exit 0 means
the block came first. The commands:

- ``env --block-signal``: the launchers' first program (GNU coreutils, docs/packaging.md);
- the frozen app's launcher shape (build/linux/launcher.sh's shebang: the kernel starts env,
  which blocks, then ``/bin/sh`` runs the script);
- ``sh -c 'exec env --block-signal ...'``: the alternative, a shell script that calls env;
- ``python -c pass``: the interpreter alone, which never blocks (the entry without launcher).

Prints, per command and delay, how many of the rounds the signal killed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BLOCK = ["env", "--block-signal=TERM,INT"]


def commands(scratch: Path) -> dict[str, list[str]]:
    launcher = scratch / "launcher"
    shebang = (ROOT / "build" / "linux" / "launcher.sh").read_text().splitlines()[0]
    launcher.write_text(f"{shebang}\nexec true\n")
    launcher.chmod(0o755)
    return {
        "env --block-signal=TERM,INT true": [*BLOCK, "true"],
        "launcher.sh shape (env -S ... /bin/sh)": [str(launcher)],
        "sh -c 'exec env --block-signal=TERM,INT true'": [
            "sh",
            "-c",
            "exec env " + BLOCK[1] + " true",
        ],
        "python -c pass (no launcher)": [sys.executable, "-c", "pass"],
    }


def round_trip(command: list[str], delay: float) -> int:
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    until = time.perf_counter() + delay
    while time.perf_counter() < until:  # sleep() is too coarse below a millisecond
        pass
    os.kill(process.pid, signal.SIGTERM)
    return process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.stop_window", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--delays", default="0,0.5,1,2,5,20", help="milliseconds after Popen")
    args = parser.parse_args(argv)
    delays = [float(item) / 1000 for item in args.delays.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        cases = commands(Path(scratch))
        killed = {(name, delay): 0 for name in cases for delay in delays}
        for _ in range(args.rounds):  # interleaved, so load changes hit every cell alike
            for name, command in cases.items():
                for delay in delays:
                    code = round_trip(command, delay)
                    assert code in (0, -signal.SIGTERM), (name, code)
                    killed[name, delay] += code == -signal.SIGTERM
    load = os.getloadavg()[0]
    print(f"{args.rounds} rounds per cell, load average {load:.1f} on {os.cpu_count()} cores")
    print("killed of " + str(args.rounds) + " | " + " | ".join(f"{d * 1000:g} ms" for d in delays))
    for name in cases:
        print(f"{name} | " + " | ".join(str(killed[name, delay]) for delay in delays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
