"""``python -m bench.engines``: the window on Qt WebEngine next to WebKitGTK, in one run.

For each engine, ``--runs`` launches (engines alternate, so machine load falls on both alike)
of the window on a data folder whose desktop account already exists, under Xvfb:

- **start**: seconds from launching the process to a painted, signed-in window: the page in
  the window reports the signed-in user and a connected socket (asked through the launcher's
  control channel, ``DESKCHAT_TEST_PROBE``), and a screenshot taken after that shows the chat
  (more than a handful of colours). The time is taken when that screenshot was started.
- **memory**: with the chat open on its one room (``general``), the resident memory of the app
  and every process it started (the web engine's renderer, network and GPU processes), summed
  as RSS (counts shared pages once per process) and as PSS (shares them out, so the sum is
  the real total).

It prints one line per launch, then the medians. ``--frozen`` measures the one-folder builds
in ``dist/gtk`` and ``dist/qt`` instead of the source tree. docs/packaging.md keeps the
figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("qt", "gtk")
USERNAME = "bench"
PASSWORD = "correct-horse-battery-bench"


@dataclass
class Launch:
    engine: str
    start: float  # seconds, launch to painted signed-in window
    rss: int  # bytes, app + children
    pss: int
    processes: int
    parts: str  # each process's name and PSS


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display (``-displayfd`` writes the number, then a newline)."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = os.read(read_fd, 32)
            if not chunk:
                raise SystemExit("Xvfb exited before giving a display number")
            data += chunk
    finally:
        os.close(read_fd)
    return process, ":" + data.decode().strip()


def command(engine: str, frozen: bool) -> list[str]:
    if frozen:
        return [str(ROOT / "dist" / engine / "deskchat" / "deskchat")]
    return [sys.executable, "-m", "desktop"]


def environment(engine: str, display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKCHAT_", "DJANGO_"))}
    env.pop("WAYLAND_DISPLAY", None)
    env.update(
        DISPLAY=display,
        PYWEBVIEW_GUI=engine,
        DESKCHAT_TEST_PROBE="1",  # the control channel answers "probe"
        QTWEBENGINE_CHROMIUM_FLAGS="--disable-gpu",
    )
    if engine == "qt":
        env["QT_API"] = "pyqt6"
        if os.geteuid() == 0:
            env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    return env


def prepare_data(data: Path) -> None:
    """A data folder whose desktop account exists: the window opens signed in."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from desktop import bootstrap\n"
        "from desktop.host import Host, LaunchOptions\n"
        "host = Host(LaunchOptions(data_dir=Path(sys.argv[1])))\n"
        "host.prepare()\n"
        "bootstrap.setup_django()\n"
        "bootstrap.migrate()\n"
        "errors = host.account.create_owner(sys.argv[2], sys.argv[3], sys.argv[3])\n"
        "host.stop()\n"
        "sys.exit(1 if errors else 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKCHAT_", "DJANGO_"))}
    subprocess.run(
        [sys.executable, "-c", script, str(data), USERNAME, PASSWORD],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )


def colours(display: str, path: Path) -> int:
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["import", "-window", "root", str(path)], env=env, check=True, timeout=60)
    out = subprocess.run(
        ["convert", str(path), "-crop", "1280x780+0+100", "+repage", "-format", "%k", "info:"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(out.stdout.strip() or 0)


def read_control(data: Path, pid: int) -> dict | None:
    try:
        info = json.loads((data / "instance.json").read_text())
    except (OSError, ValueError):
        return None
    return info if info.get("pid") == pid and info.get("control_port") else None


def memory(pid: int) -> tuple[int, int, int, str]:
    """RSS and PSS summed over the app and all its descendants, how many processes, and each
    one's name and PSS."""
    root = psutil.Process(pid)
    rss = pss = count = 0
    parts = []
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()
            name = "app" if process.pid == pid else process.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += info.pss
        count += 1
        parts.append(f"{name} {info.pss / 2**20:.0f}")
    return rss, pss, count, ", ".join(parts)


def launch(engine: str, data: Path, display: str, frozen: bool, shots: Path) -> Launch:
    from desktop import control

    env = environment(engine, display)
    started = time.monotonic()
    process = subprocess.Popen(
        [*command(engine, frozen), "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 120
        info = None
        while info is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{engine}: the app never published its control channel")
            info = read_control(data, process.pid)
            time.sleep(0.01)
        while True:
            try:
                page = control.send(info, "probe", timeout=20)["page"]
            except (OSError, ValueError):
                page = {}
            if page.get("user") == USERNAME and page.get("state") == "connected":
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{engine}: never signed in and connected; last: {page}")
            time.sleep(0.01)
        while True:
            shot_at = time.monotonic()
            if colours(display, shots / f"{engine}.png") > 50:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{engine}: the window stayed blank")
        took = shot_at - started
        rss, pss, count, parts = memory(process.pid)
        control.send(info, "close", timeout=20)
        code = process.wait(60)
        if code != 0:
            raise SystemExit(f"{engine}: the app exited with {code} after closing")
        return Launch(engine, took, rss, pss, count, parts)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="launches per engine (default 5)")
    parser.add_argument(
        "--frozen", action="store_true", help="measure dist/gtk and dist/qt, not the source tree"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for tool in ("Xvfb", "import", "convert"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install xvfb imagemagick)")
    xvfb, display = start_xvfb()
    results: list[Launch] = []
    try:
        with tempfile.TemporaryDirectory(prefix="deskchat-engines-") as scratch:
            data = Path(scratch) / "data"
            prepare_data(data)
            for engine in ENGINES:  # a first launch each, not counted: disk caches warm
                launch(engine, data, display, args.frozen, Path(scratch))
            for run in range(args.runs):
                for engine in ENGINES if run % 2 == 0 else ENGINES[::-1]:
                    result = launch(engine, data, display, args.frozen, Path(scratch))
                    results.append(result)
                    print(
                        f"{engine:>3}: start {result.start:.2f} s, "
                        f"RSS {result.rss / 2**20:.0f} MiB,"
                        f" PSS {result.pss / 2**20:.0f} MiB in {result.processes} processes"
                        f" (PSS MiB: {result.parts})",
                        flush=True,
                    )
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    load = os.getloadavg()[0]
    where = "frozen builds (dist/gtk, dist/qt)" if args.frozen else "source tree"
    print(
        f"\n{where}; {args.runs} launches per engine; load average {load:.1f} on "
        f"{os.cpu_count()} cores"
    )
    for engine in ENGINES:
        mine = [r for r in results if r.engine == engine]
        print(
            f"{engine}: start median {statistics.median(r.start for r in mine):.2f} s "
            f"(min {min(r.start for r in mine):.2f}, max {max(r.start for r in mine):.2f}); "
            f"RSS median {statistics.median(r.rss for r in mine) / 2**20:.0f} MiB; "
            f"PSS median {statistics.median(r.pss for r in mine) / 2**20:.0f} MiB; "
            f"{mine[0].processes} processes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
