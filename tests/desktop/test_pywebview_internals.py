"""Canary for desktop/pywebview_internals.py: fails when pywebview changes what it relies on."""

from __future__ import annotations

import inspect
import json
import subprocess
import threading
from importlib.metadata import version
from pathlib import Path

from desktop.pywebview_internals import CHECKED_VERSIONS, release_pending_scripts
from tests.support.tools import require, require_executable


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


# --- the JS bridge under a CSP without eval (bridge_without_eval) ---------------------------


def _webview_js(name: str) -> str:
    from webview import util

    return (Path(util.get_js_dir()) / f"{name}.js").read_text(encoding="utf-8")


def test_finish_script_still_begins_by_creating_the_api():
    from desktop.pywebview_internals import FINISH_PREFIX

    assert _webview_js("finish").startswith(FINISH_PREFIX)
    api = _webview_js("api")
    # What CREATE_API_WITHOUT_EVAL replaces, and what it calls instead.
    created = api[api.index("_createApi: function") : api.index("_jsApiCallback: function")]
    assert "new Function(" in created
    for name in ("_checkValue: function", "_jsApiCallback: function", "_returnValuesCallbacks"):
        assert name in api
    # The finish script goes through the window's run_js, where the instance's wrapper is.
    from webview import util

    inject = inspect.getsource(util.inject_pywebview)
    assert "window.run_js(finish_script %" in inject


def test_js_api_answers_begin_with_the_callback_registry():
    from webview import util

    from desktop.pywebview_internals import BRIDGE_ANSWER_PREFIX

    bridge = inspect.getsource(util.js_bridge_call)
    assert (
        "window.evaluate_js(\n"
        '            f\'window.pywebview._returnValuesCallbacks["{func_name}"]["{value_id}"]'
        "({retval})'"
    ) in bridge
    assert BRIDGE_ANSWER_PREFIX == 'window.pywebview._returnValuesCallbacks["'


class _RecordingWindow:
    def __init__(self) -> None:
        self.ran: list[str] = []
        self.evaluated: list[str] = []

    def run_js(self, script):
        self.ran.append(script)
        return "ran"

    def evaluate_js(self, script, callback=None):
        self.evaluated.append(script)
        return "evaluated"


def test_bridge_without_eval_changes_only_the_bridge_scripts():
    from desktop.pywebview_internals import CREATE_API_WITHOUT_EVAL, bridge_without_eval

    window = _RecordingWindow()
    bridge_without_eval(window)
    finish = "window.pywebview._createApi(JSON.parse('[]'));"
    assert window.run_js(finish) == "ran"
    assert window.ran[-1] == CREATE_API_WITHOUT_EVAL + finish
    assert window.run_js("document.title") == "ran" and window.ran[-1] == "document.title"
    answer = 'window.pywebview._returnValuesCallbacks["notify"]["1"]({value: \'{}\'})'
    assert window.evaluate_js(answer) is None
    assert window.ran[-1] == answer and window.evaluated == []
    assert window.evaluate_js("1 + 1") == "evaluated" and window.evaluated == ["1 + 1"]


def test_the_api_is_built_and_answered_without_code_from_strings(tmp_path):
    """pywebview's own api.js in node with code generation from strings off (what a CSP
    without 'unsafe-eval' does): stock, the API cannot be built; with CREATE_API_WITHOUT_EVAL
    before finish.js's first line, a call made before the channel opens reaches it once it
    does, and its answer resolves it."""
    from desktop.pywebview_internals import CREATE_API_WITHOUT_EVAL

    node = require_executable("node", "apt-get install nodejs")
    api = _webview_js("api") % {
        "token": "t",
        "platform": "qtwebengine",
        "uid": "u",
        "js_api_endpoint": "None",
    }
    first_line = _webview_js("finish").splitlines()[0] % {
        "functions": json.dumps(
            [
                {"func": "notify", "params": ["payload"]},
                {"func": "nested.set_unread", "params": ["count"]},
            ]
        )
    }
    harness = f"""
globalThis.window = globalThis;
globalThis.Window = function Window() {{}};  // what pywebview.stringify tests against
globalThis.Node = function Node() {{}};
{api}
var calls = [];
var channel = {{objects: {{external: {{call: function (name, params, id) {{
  calls.push([name, JSON.parse(params), id]);
  // The answer, as js_bridge_call sends it back.
  window.pywebview._returnValuesCallbacks[name][id]({{value: '{{"ok": true}}'}});
}}}}}}}};
var stock = 'no error';
try {{ {first_line} }} catch (e) {{ stock = e.name; }}
{CREATE_API_WITHOUT_EVAL}
{first_line}
// Called before Qt's channel is open (it opens 300 ms later): the call waits for it.
var promise = window.pywebview.api.notify({{title: 'x'}});
setTimeout(function () {{ window.pywebview._QWebChannel = channel; }}, 300);
promise.then(function (value) {{
  console.log(JSON.stringify({{stock: stock, calls: calls.map(c => c.slice(0, 2)), value: value,
    nested: typeof window.pywebview.api.nested.set_unread}}));
}});
"""
    script = tmp_path / "bridge.js"
    script.write_text(harness, encoding="utf-8")
    done = subprocess.run(
        [node, "--disallow-code-generation-from-strings", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "stock": "EvalError",
        "calls": [["notify", [{"title": "x"}]]],
        "value": {"ok": True},
        "nested": "function",
    }


def test_the_page_api_is_built_from_dir_of_the_js_api_object():
    """api_names hides a turned-off API through dir(): pywebview must still look there."""
    from webview import util

    injected = inspect.getsource(util.inject_pywebview)
    assert "for name in dir(obj):" in injected
    assert "if name.startswith('_'):" in injected


def test_a_turned_off_api_offers_the_page_nothing():
    from desktop.window_api import MainApi

    api = MainApi(app=None)
    assert {"create_account", "servers", "ping"} <= set(dir(api))
    api.active = False
    assert not [name for name in dir(api) if not name.startswith("_")]
    assert api.ping() is False  # still callable by a page that kept an old reference


def test_gtk_window_keeps_its_webkit_view_where_the_pinning_hook_finds_it():
    """accept_pinned_certificates on WebKitGTK: the BrowserView registry by uid, its
    ``webview``, and nothing of pywebview's own on the TLS error signal. Read as text: importing
    the GTK backend beside the Qt one in this process would load both toolkits."""
    import webview

    source = (Path(webview.__file__).parent / "platforms" / "gtk.py").read_text(encoding="utf-8")
    assert "BrowserView.instances[window.uid] = self" in source
    assert "self.webview = webkit.WebView(" in source
    assert "self.pywebview_window.native = self.window" in source
    assert "load-failed-with-tls-errors" not in source
    # The view exists when the window's before_show fires (the hook waits for it).
    created = source.index("BrowserView.instances[window.uid] = self")
    assert created < source.index("self.pywebview_window.events.before_show.set()")
