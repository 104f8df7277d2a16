"""Canary for desktop/pywebview_internals.py: fails when pywebview changes what it relies on."""

from __future__ import annotations

import inspect
import threading
from importlib.metadata import version

from desktop.pywebview_internals import CHECKED_VERSIONS, release_pending_scripts
from tests.support.tools import require


def _qt_browser_view():
    try:
        from webview.platforms import qt
    except ImportError as exc:
        require(False, f"pywebview's Qt backend cannot load: {exc}")
    return qt.BrowserView


def test_installed_pywebview_is_in_the_checked_range():
    installed = tuple(int(part) for part in version("pywebview").split(".")[:2])
    low, high = CHECKED_VERSIONS
    assert low <= installed < high, (
        f"pywebview {version('pywebview')} is outside {CHECKED_VERSIONS}: read its Qt backend "
        "again (desktop/pywebview_internals.py) and update the range"
    )


def test_qt_window_keeps_pending_script_calls_where_we_release_them():
    browser_view = _qt_browser_view()
    assert "self._js_results = {}" in inspect.getsource(browser_view.__init__)
    evaluate = inspect.getsource(browser_view.evaluate_js)
    assert "self._js_results[unique_id] = {" in evaluate
    assert "'semaphore': result_semaphore" in evaluate
    assert "result_semaphore.acquire()" in evaluate
    assert "self._js_results[unique_id]['result']" in evaluate


def test_qt_window_still_leaves_the_waits_on_close():
    """Once pywebview's Qt backend releases them itself, delete release_pending_scripts."""
    browser_view = _qt_browser_view()
    on_close = inspect.getsource(browser_view.closeEvent)
    assert "_js_results" not in on_close
    assert "semaphore" not in on_close


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
    assert release_pending_scripts([window, object()]) == 3
    for waiter in waiters:
        waiter.join(5)
        assert not waiter.is_alive()
    assert results == [None, None, None]


def test_js_api_calls_are_answered_from_the_thread_that_ran_them():
    """after_answer waits for the caller's thread: pywebview must still answer from it."""
    from webview import util

    bridge = inspect.getsource(util.js_bridge_call)
    assert "Thread(target=_call)" in bridge
    call = bridge[bridge.index("def _call():") : bridge.index("def get_nested_attribute")]
    assert call.index("func(*func_params)") < call.index("window.evaluate_js(")


def test_after_answer_runs_the_action_once_the_calling_thread_has_ended():
    from desktop.pywebview_internals import after_answer

    order: list[str] = []
    done = threading.Event()

    def api_method() -> None:  # as pywebview runs a JS API call: in a thread of its own
        after_answer(lambda: (order.append("action"), done.set()))
        order.append("method returned")
        threading.Event().wait(0.2)  # pywebview handing the answer to the page
        order.append("answered")

    thread = threading.Thread(target=api_method)
    thread.start()
    assert done.wait(10)
    thread.join()
    assert order == ["method returned", "answered", "action"]


def test_the_page_api_is_built_from_dir_of_the_js_api_object():
    """api_names hides a turned-off API through dir(): pywebview must still look there."""
    from webview import util

    injected = inspect.getsource(util.inject_pywebview)
    assert "for name in dir(obj):" in injected
    assert "if name.startswith('_'):" in injected


def test_a_turned_off_api_offers_the_page_nothing():
    from desktop.window import MainApi

    api = MainApi(app=None)
    assert {"create_account", "servers", "ping"} <= set(dir(api))
    api.active = False
    assert not [name for name in dir(api) if not name.startswith("_")]
    assert api.ping() is False  # still callable by a page that kept an old reference
