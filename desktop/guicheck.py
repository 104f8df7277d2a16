"""Can a window open here, and with which web engine? Asked before the window is tried,
because Qt aborts the whole process (not an exception) when it cannot reach a display or load
its platform plugin.

On Linux pywebview has two engines: ``qt`` (Qt WebEngine, a bundled Chromium, through PyQt6)
and ``gtk`` (the system's WebKitGTK through PyGObject). ``PYWEBVIEW_GUI`` chooses; a frozen
build sets it to the engine it bundles (build/pyi_rth_deskchat.py), a source run defaults to
``qt``. docs/packaging.md says which build uses which, and why.
"""

from __future__ import annotations

import os
import subprocess
import sys

from chatserver.paths import is_frozen

PROBE_FLAG = "--gui-probe"
LINUX_ENGINES = ("qt", "gtk")
DEFAULT_LINUX_ENGINE = "qt"


def web_engine() -> str:
    """The pywebview backend this launch uses on Linux: ``qt`` or ``gtk``."""
    chosen = os.environ.get("PYWEBVIEW_GUI", "").strip().lower()
    return chosen if chosen in LINUX_ENGINES else DEFAULT_LINUX_ENGINE


def configure_gui_environment() -> None:
    """Name the backend for pywebview (it would otherwise probe GTK, then Qt) and set the
    chosen engine's environment on Linux."""
    if not sys.platform.startswith("linux"):
        return
    os.environ["PYWEBVIEW_GUI"] = web_engine()
    if web_engine() == "qt":
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

    def cancel(self) -> None:
        """Stop the check (start-up was stopped): no child process is left behind."""
        if self._process is not None:
            self._process.kill()
            self._process.communicate()
            self._process = None


def _static_reason() -> str | None:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display (DISPLAY and WAYLAND_DISPLAY are not set)"
    try:
        import webview  # noqa: F401

        if sys.platform.startswith("linux"):
            _import_engine(web_engine())
    except Exception as exc:
        return f"the window toolkit cannot load ({exc.__class__.__name__}: {exc})"
    return None


def _import_engine(engine: str) -> None:
    """Import the engine's bindings; raises what a missing library raises."""
    if engine == "gtk":
        import gi

        gi.require_version("Gtk", "3.0")
        try:  # what pywebview's GTK backend asks for, in its order
            gi.require_version("WebKit2", "4.1")
        except ValueError:
            gi.require_version("WebKit2", "4.0")
        from gi.repository import Gtk, WebKit2  # noqa: F401
    else:
        from qtpy import QtWebEngineWidgets  # noqa: F401


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
    """Child process: start the toolkit and quit; a crash here is the answer."""
    configure_gui_environment()
    problem = x_display_problem()
    if problem:
        print(problem, flush=True)
        return 1
    if web_engine() == "gtk":
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk

        if not Gtk.init_check([])[0]:
            print("GTK cannot open the display", flush=True)
            return 1
        return 0
    from qtpy.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    del app
    return 0
