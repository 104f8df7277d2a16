"""A closed window's process ends even when the GUI toolkit leaves a thread waiting.

The release of pywebview's own waits is tested in test_pywebview_internals.py.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support.server import ROOT


def _leave(*lines: str) -> subprocess.CompletedProcess:
    script = "\n".join(
        [
            "import logging, sys, threading",
            "logging.basicConfig(stream=sys.stderr, level=logging.INFO)",
            "from desktop.window_exit import leave_after_window",
            *lines,
        ]
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_a_stray_thread_does_not_keep_the_process_alive():
    done = _leave(
        "threading.Thread(target=threading.Event().wait, name='stuck').start()",
        "print('saved', flush=True)",
        "leave_after_window(3, grace=0.5)",
    )
    assert done.returncode == 3
    assert done.stdout == "saved\n"
    assert "thread 'stuck' still running at exit" in done.stderr


def test_threads_that_finish_are_waited_for_and_output_is_kept():
    done = _leave(
        "import time",
        "threading.Thread(target=lambda: (time.sleep(0.3), print('late', flush=True))).start()",
        "print('unflushed')",
        "leave_after_window(7, grace=10)",
    )
    assert done.returncode == 7
    assert sorted(done.stdout.split()) == ["late", "unflushed"]
    assert "still running" not in done.stderr
