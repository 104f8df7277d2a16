"""``deskchat serve``: Deskchat as a server install, in one or several Daphne worker processes.

The command is a small supervisor. It takes the data folder's instance lock, checks that Redis
and PostgreSQL answer, creates the secret key and applies migrations once, and only then
starts ``--workers`` processes on consecutive ports (nginx balances over them:
docs/deploy.md). It restarts a worker that dies and stops them all on SIGTERM or Ctrl-C.

Workers never take the instance lock: they share the database and the secret key the
supervisor prepared, and keep everything that must hold across processes in Redis (channel
layer, rate limits) or the database (presence, history, resume). Several workers therefore
need ``DESKCHAT_CHANNEL_LAYER=redis://...``: the in-memory layer cannot carry a message from
one process to another.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chatserver.config import ConfigError
from desktop import shutdown

logger = logging.getLogger("desktop.supervisor")

DEFAULT_PORT = 8001
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# A worker that dies soon after starting is restarted after a growing pause, so a broken
# configuration does not spin; one that ran for a while is restarted at once.
QUICK_DEATH_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskchat serve",
        description=(
            "Serve Deskchat without a window, in one or more worker processes "
            "(behind nginx for more than one: docs/deploy.md)."
        ),
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="number of server processes (more than 1 needs DESKCHAT_CHANNEL_LAYER=redis://...)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the workers listen on (default 127.0.0.1: nginx on this machine in front)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port of the first worker; worker i listens on PORT+i "
        f"(default {DEFAULT_PORT}; 0 = a free port each)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="folder for the database")
    # Internal: how the supervisor starts one worker.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    if not 0 <= args.port <= 65535 or (args.port and args.port + args.workers - 1 > 65535):
        parser.error("--port (plus the number of workers) must stay within 0-65535")
    return args


def main(argv: Sequence[str]) -> int:
    """Entry for ``deskchat serve ...`` (``desktop.cli.main`` passes the arguments after it)."""
    args = parse_args(argv)
    from desktop import bootstrap

    try:
        bootstrap.configure_environment(data_dir=args.data_dir)
        if args.worker:
            return run_worker(args)
        return run_supervisor(args)
    except ConfigError as error:
        print(f"deskchat: {error}", file=sys.stderr)
        return 2


# --- one worker -----------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> int:
    """Serve on one port until SIGTERM; print the URL once ``/healthz`` answers."""
    _die_with_parent()
    from desktop import bootstrap
    from desktop.embedded_server import EmbeddedServer, ListenConfig

    shutdown.install()  # (already, when started as ``python -m desktop``)
    bootstrap.setup_django()
    shutdown.checkpoint()
    server = EmbeddedServer(ListenConfig(host=args.host, port=args.port))
    server.on_finished.append(shutdown.request)
    try:
        url = server.start()
        print(url, flush=True)
        while not shutdown.requested.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def _die_with_parent() -> None:
    """On Linux, get SIGTERM when the supervisor dies, even by SIGKILL: no orphan workers."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


# --- the supervisor -------------------------------------------------------------------------


def is_redis_layer() -> bool:
    from django.conf import settings

    from chatserver.config import is_redis_layer as uses_redis

    return uses_redis(settings.CHANNEL_LAYERS)


def run_supervisor(args: argparse.Namespace) -> int:
    from chatserver.config import resolve_data_dir
    from desktop import bootstrap
    from desktop.lock import AlreadyRunning, InstanceLock

    data_dir = resolve_data_dir()
    # The lock is per data folder: it keeps a desktop app (which would wipe presence at its
    # start) and a second supervisor off this folder. Workers share it through this process.
    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except AlreadyRunning as running:
        where = running.info.get("url", "an unknown address")
        print(f"deskchat: already running on this data folder at {where}", file=sys.stderr)
        return 1
    try:
        # Settings create the secret key here, once: workers started together would each
        # write their own, and sessions signed by one would not open on another.
        bootstrap.setup_django()
        if args.workers > 1 and not is_redis_layer():
            raise ConfigError(
                f"--workers {args.workers} needs DESKCHAT_CHANNEL_LAYER=redis://...: the "
                "in-memory channel layer cannot carry messages between processes"
            )
        bootstrap.migrate()
        shutdown.checkpoint()
        from django.db import connections

        connections.close_all()
        supervisor = Supervisor(
            workers=args.workers, host=args.host, port=args.port, data_dir=data_dir
        )
        return supervisor.run(on_ready=lambda urls: lock.publish(url=urls[0], urls=urls))
    finally:
        lock.release()


def worker_command(*, host: str, port: int, data_dir: Path) -> list[str]:
    """The command line of one worker, from source or from a frozen build."""
    entry = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "desktop"]
    return [
        *entry,
        "serve",
        "--worker",
        "--host",
        host,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]


@dataclass
class WorkerSlot:
    """One worker position: its port stays the same across restarts (nginx lists it)."""

    index: int
    port: int
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 1.0
    restart_at: float | None = None
    url: str = ""
    restarts: int = 0
    pumps: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Starts the worker processes, restarts the ones that die, stops them all at the end."""

    def __init__(self, *, workers: int, host: str, port: int, data_dir: Path) -> None:
        self.host = host
        self.data_dir = data_dir
        self.slots = [WorkerSlot(i + 1, port + i if port else 0) for i in range(workers)]
        # SIGTERM/SIGINT, from the moment the process started (desktop/shutdown.py).
        self.stop_event = shutdown.requested

    def run(self, on_ready=None) -> int:
        shutdown.install()  # (already, when started as ``python -m desktop``)
        try:
            for slot in self.slots:
                self._spawn(slot)
            for slot in self.slots:
                shutdown.checkpoint()
                self._await_url(slot)
            shutdown.checkpoint()
            urls = [slot.url for slot in self.slots]
            for url in urls:
                print(url, flush=True)
            if on_ready is not None:
                on_ready(urls)
            while not self.stop_event.wait(0.2):
                self._watch()
        finally:
            clean = self._stop_all()
        # A worker that fails its own stop (an error at shutdown, a hang) fails the command,
        # so a service manager and the tests see it.
        return 0 if clean else 1

    def _spawn(self, slot: WorkerSlot) -> None:
        # Blocked: a stop that reaches a worker still starting its interpreter is a clean stop.
        with shutdown.blocked():
            slot.process = subprocess.Popen(
                worker_command(host=self.host, port=slot.port, data_dir=self.data_dir),
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "DESKCHAT_WORKER_INDEX": str(slot.index)},
            )
        slot.started_at = time.monotonic()
        slot.restart_at = None

    def _await_url(self, slot: WorkerSlot) -> None:
        """Read the worker's one line (its URL); a worker that fails to start fails the start."""
        assert slot.process is not None and slot.process.stdout is not None
        line = _readline(slot.process, START_TIMEOUT)
        if not line.startswith(("http://", "https://")):
            code = slot.process.poll()
            raise ConfigError(
                f"worker {slot.index} did not start on {self.host}:{slot.port} "
                f"(exit code {code}; its error is above)"
            )
        slot.url = line.strip()
        if not slot.port:  # keep the port it found across restarts
            from urllib.parse import urlsplit

            slot.port = urlsplit(slot.url).port or 0
        pump = threading.Thread(
            target=_drain, args=(slot.process.stdout,), daemon=True, name=f"worker-{slot.index}"
        )
        pump.start()
        slot.pumps.append(pump)

    def _watch(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is not None:
                if now >= slot.restart_at:
                    self._restart(slot)
                continue
            assert slot.process is not None
            code = slot.process.poll()
            if code is None:
                continue
            quick = now - slot.started_at < QUICK_DEATH_SECONDS
            slot.backoff = min(slot.backoff * 2, MAX_BACKOFF_SECONDS) if quick else 1.0
            logger.warning(
                "worker %s (port %s) exited with code %s; restarting in %.0f s",
                slot.index,
                slot.port,
                code,
                slot.backoff,
            )
            print(
                f"deskchat: worker {slot.index} (port {slot.port}) exited with code {code}; "
                f"restarting in {slot.backoff:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            slot.restart_at = now + slot.backoff

    def _restart(self, slot: WorkerSlot) -> None:
        self._spawn(slot)
        try:
            self._await_url(slot)
        except ConfigError as error:
            print(f"deskchat: {error}", file=sys.stderr, flush=True)
            if slot.process is not None and slot.process.poll() is None:
                slot.process.kill()
                slot.process.wait()
            return
        slot.restarts += 1
        print(f"deskchat: worker {slot.index} restarted at {slot.url}", file=sys.stderr, flush=True)

    def _stop_all(self) -> bool:
        """SIGTERM every running worker and wait; whether each one stopped with exit code 0."""
        running = [s for s in self.slots if s.process and s.process.poll() is None]
        for slot in running:
            slot.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        clean = True
        for slot in running:
            process = slot.process
            try:
                code = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
            if code != 0:
                clean = False
                said = f"exit code {code}" if code is not None else "killed after a hang"
                print(
                    f"deskchat: worker {slot.index} (port {slot.port}) did not stop cleanly "
                    f"({said})",
                    file=sys.stderr,
                    flush=True,
                )
        return clean


def _readline(process: subprocess.Popen, timeout: float) -> str:
    """One line from the worker, or "" if it exits or stays silent past ``timeout``."""
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            process.wait()
            return ""
    return process.stdout.readline()


def _drain(stream) -> None:
    """Keep reading a worker's stdout so it can never block on a full pipe."""
    for line in stream:
        sys.stdout.write(line)
        sys.stdout.flush()
