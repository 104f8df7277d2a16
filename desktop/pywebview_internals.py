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
from collections.abc import Callable

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


def api_names(names: list[str], *, exposed: bool) -> list[str]:
    """What a JS API object's ``dir()`` answers: no public name while it is not ``exposed``.

    Compiling the API's functions is an ``eval``, which a page whose CSP lacks
    ``'unsafe-eval'`` refuses (the chat's, another server's). Qt WebEngine only prints that
    on the page's console; WebKitGTK fails the whole injection script, and pywebview logs it
    as an ERROR with a traceback on every such page. An API with nothing public to offer is
    compiled into nothing, so pywebview never asks the page to eval.
    """
    return list(names) if exposed else [name for name in names if name.startswith("_")]


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
