"""desktop/shutdown.py's signal mask: a stop that arrives before the handler exists (while a
launcher or a parent keeps it blocked) becomes a stop request once ``install()`` runs, and
nothing stays blocked after it, in the process, its later threads or its children."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from desktop import shutdown
from desktop import supervisor as serve
from tests.support.server import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no signal masks on Windows")

STOP_BITS = 1 << (signal.SIGTERM - 1) | 1 << (signal.SIGINT - 1)

# Reports the stop signals' state at each step, as "name=value" lines.
CHILD = """
import os, signal, threading

STOP_BITS = 1 << (signal.SIGTERM - 1) | 1 << (signal.SIGINT - 1)

def blocked(status="/proc/self/status"):
    line = next(x for x in open(status) if x.startswith("SigBlk:"))
    return bool(int(line.split()[1], 16) & STOP_BITS)

print(f"blocked_at_start={blocked()}", flush=True)
os.kill(os.getpid(), signal.SIGTERM)  # before any handler: pending, or fatal if unblocked
from desktop import shutdown
shutdown.install()
print(f"requested={shutdown.requested.is_set()}")
print(f"reason={shutdown.reason()}")
print(f"blocked_after_install={blocked()}")
seen = []
task = lambda: f"/proc/self/task/{threading.get_native_id()}/status"
thread = threading.Thread(target=lambda: seen.append(blocked(task())))
thread.start()
thread.join()
print(f"thread_blocked={seen[0]}")
"""


def run_child(*, block: bool) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", CHILD]
    if block:
        with shutdown.blocked():
            return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def report(result: subprocess.CompletedProcess) -> dict[str, str]:
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def current_mask() -> set[int]:
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_a_sigterm_before_the_handler_waits_for_it_and_becomes_a_stop_request():
    before = current_mask()
    result = run_child(block=True)
    assert current_mask() == before  # blocked() gave the caller's mask back
    assert result.returncode == 0, result.stderr
    assert report(result) == {
        "blocked_at_start": "True",  # inherited from blocked() across exec
        "requested": "True",
        "reason": "SIGTERM",
        "blocked_after_install": "False",
        "thread_blocked": "False",
    }


def test_without_the_block_the_same_early_sigterm_kills_the_process():
    result = run_child(block=False)
    assert result.returncode == -signal.SIGTERM, (result.returncode, result.stdout)
    assert report(result) == {"blocked_at_start": "False"}


def test_supervisor_starts_workers_with_stop_signals_blocked(monkeypatch, tmp_path):
    """A worker stopped while its interpreter starts waits for its handler, too."""
    probe = "print(open('/proc/self/status').read().split('SigBlk:')[1].split()[0], flush=True)"
    monkeypatch.setattr(serve, "worker_command", lambda **_: [sys.executable, "-c", probe])
    supervisor = serve.Supervisor(workers=1, host="127.0.0.1", port=0, data_dir=tmp_path)
    slot = supervisor.slots[0]
    before = current_mask()
    supervisor._spawn(slot)
    assert current_mask() == before
    assert slot.process is not None
    out, _ = slot.process.communicate(timeout=60)
    assert slot.process.returncode == 0
    assert int(out.strip(), 16) & STOP_BITS == STOP_BITS, out
