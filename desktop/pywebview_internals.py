"""The one place Deskchat reaches into pywebview's private internals.

What it relies on (checked against pywebview 6.2.1 with the Qt backend, ``pywebview[qt]``):

- ``window.native`` (public) is the backend's window object; for Qt, the ``BrowserView`` of
  ``webview/platforms/qt.py``.
- ``BrowserView.evaluate_js`` (private protocol) keeps each pending call in
  ``self._js_results[unique_id] = {'semaphore': Semaphore(0), 'result': '', ...}``, waits on
  that semaphore, then reads ``'result'``. Only the page's answer releases it.

pywebview has no public way to cancel those waits: its GTK and WinForms backends release them
on close (pywebview PR #987), its Qt backend does not (6.2.1's ``closeEvent`` leaves them).
``tests/desktop/test_pywebview_internals.py`` reads the installed backend's source and version
and fails when either assumption changes; ``CHECKED_VERSIONS`` is the range it was checked on.
"""

from __future__ import annotations

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
