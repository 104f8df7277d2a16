"""Can a window open here? Asked before the window is tried, because Qt aborts the whole
process (not an exception) when it cannot reach a display or load its platform plugin."""

from __future__ import annotations

import os
import subprocess
import sys

from chatserver.paths import is_frozen

PROBE_FLAG = "--gui-probe"


def configure_qt_environment() -> None:
    """Qt backend through pywebview[qt] on Linux (see docs: STACK-NOTES)."""
    if sys.platform.startswith("linux"):
        os.environ.setdefault("PYWEBVIEW_GUI", "qt")
        os.environ.setdefault("QT_API", "pyqt6")
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Chromium's sandbox refuses to run as root; Qt WebEngine then exits.
            os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def probe_command() -> list[str]:
    if is_frozen():
        return [sys.executable, PROBE_FLAG]
    return [sys.executable, "-m", "desktop", PROBE_FLAG]


class GuiProbe:
    """Runs the check in a child process, in parallel with the server's start-up."""

    def __init__(self) -> None:
        self.reason = _static_reason()
        self._process: subprocess.Popen | None = None
        if self.reason is None and sys.platform.startswith("linux"):
            self._process = subprocess.Popen(
                probe_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )

    def result(self, timeout: float = 30.0) -> str | None:
        """``None`` if a window can open, else one line saying why not."""
        if self._process is not None:
            try:
                output, _ = self._process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.communicate()
                self.reason = "the window system did not answer"
            else:
                if self._process.returncode != 0:
                    lines = [line for line in output.splitlines() if line.strip()]
                    self.reason = lines[-1] if lines else "the window system cannot start"
            self._process = None
        return self.reason


def _static_reason() -> str | None:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display (DISPLAY and WAYLAND_DISPLAY are not set)"
    try:
        import webview  # noqa: F401

        if sys.platform.startswith("linux"):
            from qtpy import QtWebEngineWidgets  # noqa: F401
    except Exception as exc:
        return f"the window toolkit cannot load ({exc.__class__.__name__}: {exc})"
    return None


def x_display_problem() -> str | None:
    """One line when ``DISPLAY`` names an X server that does not answer, else ``None``.

    Asked through libxcb (what Qt's xcb plugin connects with) before Qt tries: Qt then aborts
    with a list of platform plugins and advice about ``libxcb-cursor0``, none of which says
    that the display itself is missing.
    """
    display = os.environ.get("DISPLAY", "")
    if not sys.platform.startswith("linux") or not display or os.environ.get("WAYLAND_DISPLAY"):
        return None
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("xcb")
    if name is None:
        return None  # Qt's own message, then
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        failed = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)
    if failed:
        return f"no X server answers at DISPLAY={display}"
    return None


def run_probe() -> int:
    """Child process: create the Qt application and quit; a crash here is the answer."""
    configure_qt_environment()
    problem = x_display_problem()
    if problem:
        print(problem, flush=True)
        return 1
    from qtpy.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    del app
    return 0
