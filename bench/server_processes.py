"""Starting the servers under test as subprocesses, seeding their data, watching their cost."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.seed import SEED_MARKER

ROOT = Path(__file__).resolve().parent.parent
STOPPED_WITH = "bench: stopped with exit code"


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any DESKCHAT_* of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCHAT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class ServerProcess:
    """A server subprocess that printed its URL (so it is ready: Deskchat checks /healthz)."""

    process: subprocess.Popen
    url: str
    started_in: float  # seconds from spawn to the URL line
    log: Path | None = None  # its stderr; the exit code at stop is added (tests/bench)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "ws/"

    @property
    def origin(self) -> str:
        return self.url.rstrip("/")

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; returns the exit code, also written at the end of its log so a
        run can be checked afterwards for servers that did not stop cleanly."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        if self.log is not None:
            with open(self.log, "a", encoding="utf-8") as log:
                log.write(f"{STOPPED_WITH} {self.process.returncode}\n")
        return self.process.returncode


def _spawn(argv: list[str], env: dict[str, str], log: Path, timeout: float = 60) -> ServerProcess:
    started = time.perf_counter()
    # stderr goes to a file: a chatty server must never block on a full pipe mid-benchmark.
    with open(log, "ab") as stderr:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    line = _read_line(process, timeout)
    elapsed = time.perf_counter() - started
    if not line.startswith("http"):
        process.kill()
        process.wait()
        raise RuntimeError(f"{argv[2]} did not start (printed {line!r}); see {log}")
    return ServerProcess(process=process, url=line.strip(), started_in=elapsed, log=log)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            process.kill()
            raise RuntimeError("the server printed nothing in time")
    return process.stdout.readline()


def deskchat_argv(data_dir: Path, variant: str = "") -> list[str]:
    args = ["--headless", "--port", "0", "--data-dir", str(data_dir)]
    if variant:
        return [sys.executable, "-m", "bench.variants", variant, *args]
    return [sys.executable, "-m", "desktop", *args]


def serve_argv(data_dir: Path, workers: int, port: int = 0) -> list[str]:
    """``deskchat serve --workers N``: the server install (docs/deploy.md)."""
    return [
        sys.executable,
        "-m",
        "desktop",
        "serve",
        "--workers",
        str(workers),
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]


def start_deskchat(
    data_dir: Path, env: dict[str, str] | None = None, variant: str = ""
) -> ServerProcess:
    """``python -m desktop --headless --port 0`` on ``data_dir``: the code users run."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return _spawn(deskchat_argv(data_dir, variant), base_env(env), data_dir / "server.log")


def start_reference(log: Path) -> ServerProcess:
    return _spawn([sys.executable, "-m", "bench.reference", "--port", "0"], base_env(), log)


def healthz(url: str) -> int:
    with urllib.request.urlopen(url + "healthz", timeout=5) as reply:
        return reply.status


def seed(
    data_dir: Path,
    *,
    users: int,
    rooms: list[str],
    prefix: str = "u",
    env: dict[str, str] | None = None,
) -> dict:
    """Users with sessions (and rooms everyone belongs to) through ``desktop manage shell``.

    ``env`` points the app at another database (bench/scale.py seeds PostgreSQL this way).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    spec = json.dumps({"users": users, "rooms": rooms, "prefix": prefix})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop",
            "manage",
            "shell",
            "--data-dir",
            str(data_dir),
            "-c",
            "from bench.seed import run; run()",
        ],
        cwd=ROOT,
        env=base_env({**(env or {}), "BENCH_SEED": spec}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    for line in result.stdout.splitlines():
        if line.startswith(SEED_MARKER):
            return json.loads(line[len(SEED_MARKER) :])
    raise RuntimeError(f"seeding failed ({result.returncode}): {result.stderr[-2000:]}")


WORDS = [
    "meeting",
    "notes",
    "lunch",
    "deploy",
    "review",
    "ticket",
    "coffee",
    "report",
    "budget",
    "sprint",
    "release",
    "call",
    "printer",
    "invoice",
    "plan",
    "design",
    "test",
    "fix",
    "merge",
    "office",
]


def bulk_insert_messages(
    data_dir: Path, *, room_id: int, sender_ids: list[int], count: int
) -> float:
    """Write ``count`` room messages straight into SQLite (server stopped); returns seconds.

    Going through the server would take longer than the benchmark itself; the rows are exactly
    what ``message_create_many`` writes, client ids included, so every index is as large as in use.
    """
    started = time.perf_counter()
    db = sqlite3.connect(data_dir / "deskchat.sqlite3")
    db.execute("PRAGMA synchronous=OFF")
    rng = random.Random(6)
    ts = "2026-01-01 09:00:00.000000"

    def rows():
        for i in range(count):
            body = " ".join(rng.choices(WORDS, k=rng.randint(3, 14)))
            yield (sender_ids[i % len(sender_ids)], room_id, body, f"seed-{i}", ts)

    with db:
        db.executemany(
            "INSERT INTO chat_message (sender_id, room_id, recipient_id, dm_key, body, client_id,"
            " created_at) VALUES (?, ?, NULL, NULL, ?, ?, ?)",
            rows(),
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - started


def max_message_id(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "deskchat.sqlite3") as db:
        return db.execute("SELECT MAX(id) FROM chat_message").fetchone()[0] or 0


def database_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("deskchat.sqlite3*"))


@dataclass
class Monitor:
    """Samples a process's RSS and CPU while a scenario runs (psutil, every 50 ms)."""

    pid: int
    interval: float = 0.05
    peak_rss: int = 0
    samples: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._proc = psutil.Process(self.pid)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def rss(self) -> int:
        return self._proc.memory_info().rss

    def cpu_seconds(self) -> float:
        times = self._proc.cpu_times()
        return times.user + times.system

    def __enter__(self) -> Monitor:
        self._cpu0 = self.cpu_seconds()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.rss()
            self.samples.append(rss)
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.cpu = self.cpu_seconds() - self._cpu0
        self.wall = time.perf_counter() - self._t0
        self.end_rss = self.rss()

    def figures(self) -> dict[str, float]:
        return {
            "server_rss_mb": round(self.end_rss / 2**20, 1),
            "server_peak_rss_mb": round(self.peak_rss / 2**20, 1),
            "server_cpu_s": round(self.cpu, 2),
            "server_cpu_pct": round(100 * self.cpu / self.wall, 1) if self.wall else 0.0,
        }
