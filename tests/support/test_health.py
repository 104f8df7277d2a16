"""The check every started process goes through (tests/support/health.py) can fail."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import health

LOG = """\
2026-12-06 20:41:07,123 INFO MainThread desktop: serving http://127.0.0.1:1/
2026-12-06 20:41:07,124 WARNING daphne.server: slow
[15364:15396:1206/204253.332741:ERROR:bus.cc(408)] Failed to connect to the bus
2026-12-06 20:41:08,000 ERROR asyncio_0 daphne.server: Exception inside application: boom
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ValueError: boom
deskchat: others can join at http://10.0.0.5:8765/
Exception in thread Thread-3 (_call):
Traceback (most recent call last):
  File "y.py", line 2, in run
KeyError: 'k'
2026-12-06 20:41:09,000 CRITICAL daphne.server: Listen failure: port taken
Unhandled error in Deferred:
"""


def test_problems_are_tracebacks_and_error_records_each_with_its_lines():
    found = health.problems(LOG)
    assert len(found) == 4
    assert found[0].startswith("2026-12-06 20:41:08,000 ERROR") and "ValueError: boom" in found[0]
    assert "KeyError: 'k'" in found[1] and found[1].startswith("Traceback")
    assert "CRITICAL" in found[2]
    assert found[3].startswith("Unhandled error in Deferred")
    # Warnings, info and Chromium's own "ERROR:" noise are not problems.
    assert not any("WARNING" in block or "bus.cc" in block for block in found)


def _exited(code: int, tmp_path, text: str = "") -> health.Watched:
    err = tmp_path / "stderr.log"
    err.write_text("")
    process = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.stderr.write({text!r}); sys.exit({code})"],
        stderr=err.open("w"),
    )
    watched = health.watch("a fake server", process, [err], process.wait)
    watched.outputs[0].start = 0
    process.wait()
    return watched


class _Node:
    def __init__(self, marker=None) -> None:
        self.marker = marker

    def get_closest_marker(self, name):
        return self.marker


def test_a_process_that_exits_1_fails_the_test(tmp_path):
    since = len(health.STARTED)
    _exited(1, tmp_path)
    with pytest.raises(pytest.fail.Exception, match="exited with code 1, not 0"):
        health.check_started(_Node(), since)


def test_a_logged_traceback_fails_the_test_unless_the_marker_expects_it(tmp_path):
    text = "Traceback (most recent call last):\n  File 'x'\nOSError: disk full\n"
    since = len(health.STARTED)
    _exited(0, tmp_path, text)
    with pytest.raises(pytest.fail.Exception, match="OSError: disk full"):
        health.check_started(_Node(), since)
    since = len(health.STARTED)
    _exited(0, tmp_path, text)
    health.check_started(_Node(pytest.mark.server_errors("disk full").mark), since)
    since = len(health.STARTED)
    _exited(2, tmp_path)
    health.check_started(_Node(pytest.mark.server_errors(exit_code=2).mark), since)
