"""Start a headless Deskchat many times and send SIGTERM at chosen moments of its start-up.

Shared by the source-tree test (tests/desktop/test_stop_signals.py) and the frozen app's
(tests/packaging/test_stop_signals.py): every stop must exit 0, log no problem, leave the data
folder unlocked and without an instance record, and the next start must work.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support import health
from tests.support.server import server_env

# When the signal goes, in turn (each waits for a positive sign in /proc or on the wire):
# - "spawn": as soon as the process exists and its launcher (GNU env) has blocked the stop
#   signals, its first act (/proc shows them blocked, or the program itself running, for an
#   entry without a launcher: then this is Popen's return). Before env's block, about a
#   millisecond of CPU after exec, nothing the process runs can act: bench/stop_window.py
#   measures how often a SIGTERM lands there (docs/packaging.md, "Stopping during start-up");
# - "early": a spread 0-30 ms after that (the launcher's shell, the interpreter's start);
# - "exec": as soon as /proc shows the program itself (Python or the frozen bootloader), past
#   the launcher: the interpreter is starting and no handler of ours exists yet;
# - "handler": as soon as /proc shows SIGTERM caught (the first line of desktop/__main__.py);
# - "lock": as soon as the process has the data folder's lock file open;
# - "during": a spread fraction of a full start's time after that (Django set-up, migrations
#   on a fresh folder, the server starting, publishing instance.json);
# - "first-health": right after /healthz first answers 200, before the URL is printed (what
#   a service manager or a test runner polling the port does; issue 15 found it killed 15 of
#   20 starts);
# - "url": right after the URL line.
# A SIGTERM before "handler" is a clean stop only because the launcher blocks it until the
# handler exists (desktop/shutdown.py); started without one, those starts die by the signal.
MOMENTS = ("spawn", "early", "exec", "handler", "lock", "during", "first-health", "url")
EARLY_SPAN = 0.030
LAUNCHER_PROGRAMS = {"env", "sh", "dash", "bash"}
SIGTERM_BIT = 1 << (signal.SIGTERM - 1)
STOP_BITS = SIGTERM_BIT | 1 << (signal.SIGINT - 1)


@dataclass
class Stop:
    """One start stopped by SIGTERM: when, how it ended, what it said."""

    number: int
    moment: str
    delay: float  # seconds after spawn ("early") or after the lock file was opened ("during")
    code: int | None
    problems: list[str]
    locked_after: bool
    record_left: bool

    @property
    def clean(self) -> bool:
        return (
            self.code == 0 and not self.problems and not self.locked_after and not self.record_left
        )

    def __str__(self) -> str:
        return (
            f"start {self.number} ({self.moment}, {self.delay:.3f} s): exit {self.code}, "
            f"lock held after: {self.locked_after}, instance.json left: {self.record_left}, "
            f"problems: {self.problems}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _signal_mask(pid: int, field: str) -> int:
    """A signal bit mask from /proc/PID/status (``SigCgt``, ``SigBlk``...); 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1], 16)
    return 0


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a SIGTERM handler (``SigCgt`` in /proc/PID/status)."""
    return bool(_signal_mask(pid, "SigCgt") & SIGTERM_BIT)


def blocks_stop_signals(pid: int) -> bool:
    """Whether SIGTERM or SIGINT is blocked in the process's main thread (``SigBlk``)."""
    return bool(_signal_mask(pid, "SigBlk") & STOP_BITS)


def past_launcher(pid: int) -> bool:
    """Whether the process runs the program itself, no longer GNU env or the launcher's shell."""
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name not in LAUNCHER_PROGRAMS
    except OSError:
        return False


def opened_lock(pid: int) -> bool:
    """Whether the process has the data folder's lock file open (it locks it next)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd).endswith("/deskchat.lock"):
                return True
        except OSError:
            continue
    return False


def _launched(pid: int) -> bool:
    """Past the launcher's first act: the stop signals blocked, or no launcher at all."""
    return blocks_stop_signals(pid) or past_launcher(pid)


def lock_is_free(data_dir: Path) -> bool:
    """Whether a new process could take the data folder's instance lock right now."""
    path = data_dir / "deskchat.lock"
    if not path.exists():
        return True
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return True


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


class Starter:
    """Runs ``command --headless --port P --data-dir D`` and stops it at a moment."""

    def __init__(self, command: list[str], work: Path, env: dict | None = None) -> None:
        self.command = command
        self.work = work
        self.env = server_env(env)
        self.env.pop("DJANGO_SETTINGS_MODULE", None)  # pytest's, not the app's
        self.console = work / "console.log"

    def _launch(self, data_dir: Path, port: int) -> tuple[subprocess.Popen, list[health.Output]]:
        data_dir.mkdir(parents=True, exist_ok=True)
        outputs = [
            health.Output.from_now(path)
            for path in (self.console, data_dir / "logs" / "deskchat.log")
        ]
        with open(self.console, "ab") as console:
            process = subprocess.Popen(
                [*self.command, "--headless", "--port", str(port), "--data-dir", str(data_dir)],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=console,
                text=True,
            )
        return process, outputs

    def full_start(self, data_dir: Path, timeout: float = 120) -> float:
        """A start that runs until it prints its URL and answers, then a normal stop; returns
        the seconds from launch to the URL."""
        port = free_port()
        started = time.monotonic()
        process, outputs = self._launch(data_dir, port)
        try:
            line = _read_line(process, timeout)
            took = time.monotonic() - started
            assert line.startswith("http"), f"no URL: {line!r}\n{self.tail()}"
            assert _healthy(port), f"started but /healthz does not answer\n{self.tail()}"
            # The launcher's block was cleared once the handlers existed: threads and child
            # processes started since inherit an open mask.
            assert not blocks_stop_signals(process.pid), "SIGTERM/SIGINT still blocked"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            code = process.wait(60)
        found = [block for output in outputs for block in health.problems(output.text())]
        assert code == 0 and not found, f"exit {code}, problems {found}\n{self.tail()}"
        return took

    def stop_at(
        self, number: int, data_dir: Path, moment: str, delay: float, timeout: float = 120
    ) -> Stop:
        port = free_port()
        process, outputs = self._launch(data_dir, port)
        try:
            deadline = time.monotonic() + timeout
            if moment in {"spawn", "early"}:
                self._until(process, deadline, _launched, "the launcher's block")
                time.sleep(delay if moment == "early" else 0)
            elif moment == "exec":
                self._until(process, deadline, past_launcher, "the program past its launcher")
            elif moment == "handler":
                self._until(process, deadline, catches_sigterm, "catching SIGTERM")
            elif moment in {"lock", "during"}:
                self._until(process, deadline, opened_lock, "opening the lock file")
                if moment == "during":
                    time.sleep(delay)
            elif moment == "first-health":
                while not _healthy(port):
                    assert process.poll() is None, f"exited before serving\n{self.tail()}"
                    assert time.monotonic() < deadline, "/healthz never answered"
                    time.sleep(0.002)
            elif moment == "url":
                line = _read_line(process, timeout)
                assert line.startswith("http"), f"no URL: {line!r}\n{self.tail()}"
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return Stop(
            number=number,
            moment=moment,
            delay=delay if moment in {"early", "during"} else 0.0,
            code=code,
            problems=[block for output in outputs for block in health.problems(output.text())],
            locked_after=not lock_is_free(data_dir),
            record_left=(data_dir / "instance.json").exists(),
        )

    def _until(self, process, deadline: float, sign, what: str) -> None:
        while not sign(process.pid):
            assert process.poll() is None, f"exited before {what}\n{self.tail()}"
            assert time.monotonic() < deadline, f"never seen {what}"
            time.sleep(0.001)

    def tail(self, chars: int = 3000) -> str:
        text = self.console.read_text(errors="replace") if self.console.exists() else ""
        return text[-chars:]


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()


def stop_many(command: list[str], work: Path, starts: int = 50) -> list[Stop]:
    """``starts`` starts, each stopped by SIGTERM at the next of ``MOMENTS``; every tenth
    begins on a fresh data folder (the first start there migrates). Each folder's next start
    is checked to work: the next start in the loop, and a full start at the end."""
    starter = Starter(command, work)
    folder = work / "data-0"
    typical = starter.full_start(folder)  # also: the command works at all
    stops = []
    for number in range(starts):
        if number and number % 10 == 0:
            starter.full_start(folder)  # the folder the last ten stops left behind
            folder = work / f"data-{number // 10}"
        moment = MOMENTS[number % len(MOMENTS)]
        # Spread over a whole start, or the first milliseconds (golden-ratio steps never
        # repeat a fraction).
        fraction = (number * 0.618034) % 1.0
        delay = (EARLY_SPAN if moment == "early" else typical) * fraction
        stops.append(starter.stop_at(number, folder, moment, delay))
    starter.full_start(folder)
    return stops
