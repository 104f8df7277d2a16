"""Every process a test starts must stop cleanly and log no error, unless the test says so.

A server that logs a traceback while a test runs, or exits 1 when asked to stop, used to pass
as long as the frames the test looked at arrived. Each process helper (``LiveServer`` here,
``Served`` in tests/scale, ``App`` in tests/desktop) registers what it starts; after each test
(and after each module, for module-scoped servers) ``check_started`` stops whatever is still
running and fails the test when a process

- exited with anything but 0 (a process the test killed on purpose is exempt), or
- wrote a problem to its stderr or its log file: a Python traceback, a log record at ERROR or
  CRITICAL level, or Twisted's "Unhandled error".

A test that provokes errors on purpose says which with the ``server_errors`` marker: each
pattern (a regular expression) allows the problems it matches; a bare ``server_errors``
allows every problem. ``exit_code=`` allows another exit code (``None``: any).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Both log formats start "2026-12-06 20:41:07,123 LEVEL ..." (desktop/logs.py, settings.py).
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ([A-Z]+) ")
TRACEBACK = "Traceback (most recent call last)"
TWISTED_UNHANDLED = re.compile(r"Unhandled [Ee]rror")  # Twisted, outside logging


@dataclass
class Output:
    """One file a process writes to, read from where it stood when the process started."""

    path: Path
    start: int = 0

    @classmethod
    def from_now(cls, path: Path) -> Output:
        return cls(path, path.stat().st_size if path.exists() else 0)

    def text(self) -> str:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return ""
        # A log that rotated meanwhile starts again from 0.
        return data[self.start if len(data) >= self.start else 0 :].decode(errors="replace")


def problems(text: str) -> list[str]:
    """The problem blocks in ``text``: a log record or a traceback, with the lines after it."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        starts_record = RECORD_START.match(line) is not None or bool(TWISTED_UNHANDLED.match(line))
        # A record logged with exc_info is followed by its own traceback: same block.
        own_traceback = (
            line.startswith(TRACEBACK)
            and bool(blocks)
            and RECORD_START.match(blocks[-1][0]) is not None
            and not any(TRACEBACK in b for b in blocks[-1])
        )
        if not blocks or starts_record or (line.startswith(TRACEBACK) and not own_traceback):
            blocks.append([line])
        else:
            blocks[-1].append(line)
    found = []
    for block in blocks:
        joined = "\n".join(block)
        first = RECORD_START.match(block[0])
        if (
            TRACEBACK in joined
            or (first is not None and first.group(1) in {"ERROR", "CRITICAL"})
            or TWISTED_UNHANDLED.match(block[0])
        ):
            found.append(joined)
    return found


@dataclass
class Watched:
    """A started process and where it writes; ``stop`` is how the helper stops it."""

    name: str
    process: object  # subprocess.Popen
    outputs: list[Output]
    stop: object  # callable() -> exit code
    killed: bool = False
    allowed: list[str] = field(default_factory=list)
    checked: bool = False

    def problems(self) -> list[str]:
        found = []
        for output in self.outputs:
            for block in problems(output.text()):
                if not any(re.search(pattern, block) for pattern in self.allowed):
                    found.append(f"{output.path.name}:\n{block}")
        return found

    def tail(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {o.path}\n{o.text()[-chars:]}" for o in self.outputs)


STARTED: list[Watched] = []


def watch(name: str, process, outputs: list[Path], stop) -> Watched:
    """Register a process the moment it is started (outputs read from their current end)."""
    watched = Watched(name, process, [Output.from_now(p) for p in outputs], stop)
    STARTED.append(watched)
    return watched


def note_signal(watched: Watched | None, sig: int) -> None:
    """A SIGKILL is the test's own doing: its exit code then says nothing about the server."""
    if watched is not None and sig == signal.SIGKILL:
        watched.killed = True


def check_started(node: pytest.Item | pytest.Collector, since: int) -> None:
    """Stop and check every process registered from index ``since`` on (see the docstring)."""
    marker = node.get_closest_marker("server_errors")
    patterns = list(marker.args) if marker else []
    allow_all = marker is not None and not marker.args and not marker.kwargs
    allowed_exit = marker.kwargs.get("exit_code", 0) if marker else 0
    failures = []
    for watched in STARTED[since:]:
        if watched.checked:
            continue
        watched.checked = True
        code = watched.stop()
        if not watched.killed and allowed_exit is not None and code != allowed_exit:
            failures.append(
                f"{watched.name} exited with code {code}, not {allowed_exit} "
                f"(mark the test server_errors(exit_code=...) if it should)\n{watched.tail()}"
            )
        if allow_all:
            continue
        watched.allowed.extend(patterns)
        for problem in watched.problems():
            failures.append(
                f"{watched.name} reported a problem (mark the test "
                f"server_errors(PATTERN) if it is expected):\n{problem}"
            )
    del STARTED[since:]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
