"""The one place Deskchat reaches into pywebview's private internals.

What it relies on (checked against pywebview 6.2.1 with the Qt backend, ``pywebview[qt]``, and
the GTK backend on WebKitGTK 2.50):

- ``window.native`` (public) is the backend's window object; for Qt, the ``BrowserView`` of
  ``webview/platforms/qt.py``.
- ``BrowserView.evaluate_js`` (private protocol) keeps each pending call in
  ``self._js_results[unique_id] = {'semaphore': Semaphore(0), 'result': '', ...}``, waits on
  that semaphore, then reads ``'result'``. Only the page's answer releases it.

- ``webview.util.js_bridge_call`` (private) runs each JS API call in a ``Thread`` of its own
  (``_call``), and that same thread then hands the return value to the page that called,
  with ``window.evaluate_js(...)`` (``after_answer`` waits for that thread).

- The JS bridge it injects into every page is two ``run_js`` scripts: ``webview/js/*.js``
  (``window.pywebview`` with ``_createApi``, ``_checkValue``, ``_jsApiCallback``,
  ``_returnValuesCallbacks``), then ``finish.js``, which begins with
  ``window.pywebview._createApi(JSON.parse(...))`` and then opens the QWebChannel and fires
  ``pywebviewready``. ``_createApi`` builds each API function with ``new Function(...)``.
- ``webview.util.js_bridge_call`` answers a call with ``window.evaluate_js(script)``, where
  ``script`` starts with ``window.pywebview._returnValuesCallbacks["``; ``Window.evaluate_js``
  wraps every script in ``eval(...)``.

  A page whose CSP has no ``'unsafe-eval'`` (the chat's, ``chatserver/security.py``) refuses
  both: ``new Function`` throws, which also skips the rest of ``finish.js`` (no channel, no
  API at all), and the answer's ``eval`` throws in the answering thread (a traceback).
  ``Window.run_js`` runs a script as it is, outside the page's CSP (Qt's ``runJavaScript``):
  ``bridge_without_eval`` gives ``finish.js`` a ``_createApi`` made of closures and hands
  answers to ``run_js``.
- For ``accept_pinned_certificates``: the Qt ``BrowserView`` keeps its ``QWebEngineView`` as
  ``webview`` (``self.webview = BrowserView.WebView(self)``) and gives it one page for its life;
  Qt WebEngine's ``QWebEnginePage.certificateError`` signal lets a slot accept a certificate
  before the page shows its error (pywebview connects nothing to it).
- ``webview.util.inject_pywebview`` (private) builds the page's ``window.pywebview.api`` after
  every page load from ``dir(js_api)``, skipping names that start with ``_``, and the page then
  compiles each function with ``new Function`` (``webview/js/api.js``).

pywebview has no public way to cancel those waits: its GTK and WinForms backends release them
on close (pywebview PR #987), its Qt backend does not (6.2.1's ``closeEvent`` leaves them).
``tests/desktop/test_pywebview_internals.py`` reads the installed backend's source and version
and fails when either assumption changes; ``CHECKED_VERSIONS`` is the range it was checked on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

logger = logging.getLogger(__name__)

# Major versions of pywebview whose Qt backend was read for the assumptions above.
CHECKED_VERSIONS = ((6, 0), (7, 0))  # from 6.0 (inclusive) to 7.0 (exclusive)


def release_pending_scripts(windows: list) -> int:
    """Wake every thread still waiting for a script result from these (closed) windows.

    pywebview injects its JS bridge after every page load from a non-daemon thread, which
    waits in ``evaluate_js``; once the GUI loop has ended, the answer never comes, and a close
    right after a load left the process hanging at exit (seen in CI). The waiter sees
    ``None`` as the result. Windows of other backends (no ``_js_results``) are skipped.
    """
    released = 0
    for window in windows:
        pending = getattr(getattr(window, "native", None), "_js_results", None)
        if not isinstance(pending, dict):
            continue
        for call in list(pending.values()):
            semaphore = call.get("semaphore") if isinstance(call, dict) else None
            if semaphore is not None:
                call["result"] = None
                semaphore.release()
                released += 1
    return released


# How js_bridge_call's answer to a JS API call begins, and how finish.js begins (6.2.1).
BRIDGE_ANSWER_PREFIX = 'window.pywebview._returnValuesCallbacks["'
FINISH_PREFIX = "window.pywebview._createApi(JSON.parse("

# pywebview's _createApi (webview/js/api.js) with closures instead of ``new Function``: the
# same promise, the same callback registry, the same call into the channel. And a call made
# before Qt's channel is open (the API exists a moment before it: a page calling at once,
# under load) waits for it: pywebview's _jsApiCallback retries once after 100 ms, then throws
# "Cannot read properties of undefined (reading 'objects')" and the call is lost.
CREATE_API_WITHOUT_EVAL = """window.pywebview._createApi = function (funcList) {
  funcList.forEach(function (element) {
    var funcName = element.func;
    var path = funcName.split('.');
    var name = path.pop();
    var target = path.reduce(function (obj, prop) {
      if (!obj[prop]) { obj[prop] = {}; }
      return obj[prop];
    }, window.pywebview.api);
    target[name] = function () {
      var id = (Math.random() + '').substring(2);
      var promise = new Promise(function (resolve, reject) {
        window.pywebview._checkValue(funcName, resolve, reject, id);
      });
      window.pywebview._jsApiCallback(funcName, Array.prototype.slice.call(arguments), id);
      return promise;
    };
    window.pywebview._returnValuesCallbacks[funcName] = {};
  });
};
(function (stock) {
  window.pywebview._jsApiCallback = function () {
    var args = arguments;
    if (window.pywebview.platform !== 'qtwebengine' || window.pywebview._QWebChannel) {
      return stock.apply(window.pywebview, args);
    }
    setTimeout(function () { window.pywebview._jsApiCallback.apply(window.pywebview, args); }, 50);
  };
})(window.pywebview._jsApiCallback);
"""


def bridge_without_eval(window: Any) -> None:
    """Make pywebview's JS bridge work in this window's pages even under a CSP without eval.

    Both changes keep pywebview's own code path and data: ``finish.js`` runs after a
    ``_createApi`` that needs no eval (and a ``_jsApiCallback`` that waits for Qt's channel
    instead of giving up after 100 ms), and an answer (a plain call of the page's callback
    with a literal; nothing comes back) runs through ``run_js`` instead of ``evaluate_js``.
    Every other script keeps the stock path.
    """
    stock_run, stock_evaluate = window.run_js, window.evaluate_js

    def run_js(script: str) -> Any:
        if isinstance(script, str) and script.startswith(FINISH_PREFIX):
            script = CREATE_API_WITHOUT_EVAL + script
        return stock_run(script)

    def evaluate_js(script: str, callback: Callable[..., Any] | None = None) -> Any:
        if callback is None and isinstance(script, str) and script.startswith(BRIDGE_ANSWER_PREFIX):
            stock_run(script)
            return None
        return stock_evaluate(script, callback)

    window.run_js = run_js
    window.evaluate_js = evaluate_js


def accept_pinned_certificates(window, accept: Callable[[str, list[bytes]], bool]) -> bool:
    """Let the window open a page whose certificate chain ``accept(url, chain)`` approves
    (the chain as DER, server's certificate first). Every other certificate error is refused
    as the engine refuses it by default. False when the backend is neither Qt WebEngine nor
    WebKitGTK.
    """
    gtk_view = _webkitgtk_view(window)
    if gtk_view is not None:
        return _accept_pinned_on_webkitgtk(gtk_view, accept)
    view = getattr(getattr(window, "native", None), "webview", None)
    page = view.page() if view is not None and hasattr(view, "page") else None
    if page is None or not hasattr(page, "certificateError"):
        return False

    def on_error(error) -> None:
        chain = [bytes(cert.toDer()) for cert in error.certificateChain()]
        if error.isOverridable() and accept(error.url().toString(), chain):
            error.acceptCertificate()
        else:
            logger.warning(
                "certificate refused for %s: %s", error.url().toString(), error.description()
            )
            error.rejectCertificate()

    from qtpy.QtCore import Qt

    # Direct: this runs on a worker thread, and a queued slot would wait for an event loop
    # there that never runs; Qt WebEngine also wants the answer before the signal returns.
    page.certificateError.connect(on_error, type=Qt.ConnectionType.DirectConnection)
    return True


def api_names(names: list[str], *, exposed: bool, still: Collection[str] = ()) -> list[str]:
    """What a JS API object's ``dir()`` answers: no public name while it is not ``exposed``
    but those in ``still`` (the chat page's own calls, which ``bridge_without_eval`` lets it
    build without eval).

    Compiling the API's functions is an ``eval``, which a page whose CSP lacks
    ``'unsafe-eval'`` refuses (the chat's, another server's). Qt WebEngine only prints that
    on the page's console; WebKitGTK fails the whole injection script, and pywebview logs it
    as an ERROR with a traceback on every such page. An API with nothing public to offer is
    compiled into nothing, so pywebview never asks the page to eval.
    """
    if exposed:
        return list(names)
    return [name for name in names if name.startswith("_") or name in still]


def after_answer(action: Callable[[], None], timeout: float = 10.0) -> None:
    """Run ``action`` once the page has the answer to the JS API call being handled.

    Called from a JS API method. An action that replaces the page (another page, the chat,
    another server) must wait: otherwise pywebview hands the answer to the new page, where
    the callback is missing (a TypeError) or the page's CSP refuses pywebview's ``eval``,
    and either prints a traceback on the console. pywebview answers from the thread the
    method runs in, so ``action`` runs when that thread has ended.
    """
    caller = threading.current_thread()

    def run() -> None:
        caller.join(timeout)
        try:
            action()
        except Exception:  # the window may have closed meanwhile
            logger.warning("a window action after a page's call failed", exc_info=True)

    threading.Thread(target=run, name="after-api-answer", daemon=True).start()


def _webkitgtk_view(window: Any) -> Any:
    """The window's ``WebKit2.WebView`` under pywebview's GTK backend, else None. There,
    ``window.native`` is the ``Gtk.Window``; ``window.gui`` is the backend's module, whose
    ``BrowserView.instances`` holds the view's owner by the window's ``uid``.

    Called from a thread right as the window starts (``--join LINK``), the BrowserView may not
    exist yet: pywebview's ``before_show`` event is set once it does (never waited for on the
    GUI thread itself, which sets it).
    """
    if threading.current_thread() is not threading.main_thread():
        window.events.before_show.wait(10.0)
    gui = getattr(window, "gui", None)
    if getattr(gui, "__name__", "") != "webview.platforms.gtk":
        return None
    instances = getattr(getattr(gui, "BrowserView", None), "instances", {})
    return getattr(instances.get(getattr(window, "uid", None)), "webview", None)


def _accept_pinned_on_webkitgtk(view: Any, accept: Callable[[str, list[bytes]], bool]) -> bool:
    """WebKitGTK's way: its ``load-failed-with-tls-errors`` signal hands over the presented
    certificate (a ``Gio.TlsCertificate`` whose ``issuer`` links the rest of the chain); an
    approved one is allowed for that host on the view's context (WebKitGTK's public
    ``allow_tls_certificate_for_host``) and the page is loaded again. pywebview's GTK
    ``BrowserView`` keeps its ``WebKit2.WebView`` as ``webview`` and connects nothing to it.
    """
    from urllib.parse import urlsplit

    from gi.repository import GLib

    def on_tls_error(webview: Any, failing_uri: str, certificate: Any, errors: Any) -> bool:
        chain: list[bytes] = []
        link = certificate
        while link is not None and len(chain) < 8:
            chain.append(bytes(link.props.certificate))
            link = link.get_issuer()
        if not accept(failing_uri, chain):
            logger.warning("certificate refused for %s: %s", failing_uri, errors)
            return False  # WebKitGTK's own error page
        host = urlsplit(failing_uri).hostname or ""
        webview.get_context().allow_tls_certificate_for_host(certificate, host)
        webview.load_uri(failing_uri)
        return True

    def connect() -> bool:
        view.connect("load-failed-with-tls-errors", on_tls_error)
        return False  # once

    GLib.idle_add(connect)  # GTK wants its objects touched on its own thread
    return True
