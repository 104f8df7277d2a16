"""A closed window's process ends even when the GUI toolkit leaves a thread waiting."""

from __future__ import annotations

import inspect
import subprocess
import sys
import threading

from desktop.window import abandon_pending_scripts
from tests.support.server import ROOT
from tests.support.tools import require


class _FakeNative:
    """What pywebview's Qt ``BrowserView`` keeps per pending ``evaluate_js`` call."""

    def __init__(self) -> None:
        self._js_results: dict = {}


class _FakeWindow:
    def __init__(self) -> None:
        self.native = _FakeNative()


def _wait_like_pywebview(native: _FakeNative, key: str, out: list) -> None:
    semaphore = threading.Semaphore(0)
    native._js_results[key] = {"semaphore": semaphore, "result": "", "parse_json": True}
    semaphore.acquire()
    out.append(native._js_results.pop(key)["result"])


def test_pending_script_waits_are_released():
    window, results = _FakeWindow(), []
    waiters = [
        threading.Thread(target=_wait_like_pywebview, args=(window.native, str(i), results))
        for i in range(3)
    ]
    for waiter in waiters:
        waiter.start()
    while len(window.native._js_results) < 3:
        threading.Event().wait(0.01)
    assert abandon_pending_scripts([window, object()]) == 3
    for waiter in waiters:
        waiter.join(5)
        assert not waiter.is_alive()
    assert results == [None, None, None]


def test_pywebview_qt_still_waits_the_way_we_release():
    """The release reads pywebview's internals; fail loudly if they change shape."""
    try:
        from webview.platforms import qt
    except ImportError as exc:
        require(False, f"pywebview's Qt backend cannot load: {exc}")
    source = inspect.getsource(qt.BrowserView.evaluate_js)
    assert "self._js_results[unique_id]" in source
    assert "'semaphore': result_semaphore" in source
    assert "result_semaphore.acquire()" in source


def _leave(*lines: str) -> subprocess.CompletedProcess:
    script = "\n".join(
        [
            "import logging, sys, threading",
            "logging.basicConfig(stream=sys.stderr, level=logging.INFO)",
            "from desktop.window import leave_after_window",
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
