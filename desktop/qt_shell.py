"""What the launcher asks of Qt beyond pywebview's window: the tray icon and the unread badge.

Used only when pywebview runs on its Qt backend (``desktop/window.py`` picks by backend; on
any other, ``create`` is not called and closing the window quits as before).

- The tray icon is Qt's own ``QSystemTrayIcon``: a StatusNotifierItem over D-Bus where the
  desktop has a watcher (KDE, GNOME with the AppIndicator extension), the freedesktop XEmbed
  system tray otherwise (XFCE, LXQt, ``trayer``), the notification area on Windows and the menu
  bar on macOS. ``QSystemTrayIcon.isSystemTrayAvailable()`` says whether one exists.
- The badge is ``QGuiApplication.setBadgeNumber`` (Qt 6.5+): the Dock on macOS, the taskbar
  on Windows, and on Linux the Unity LauncherEntry D-Bus signal for ``deskchat.desktop`` (read
  by GNOME's Dash to Dock, KDE's task manager, Plank).

Qt objects live on the GUI thread, but pywebview calls back from threads of its own: ``call``
hands a function to the GUI thread through a queued signal and waits for its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DESKTOP_FILE = "deskchat"  # build/linux/deskchat.desktop: the badge is addressed to it


@dataclass
class TrayMenu:
    """The tray menu's labels (translated by the caller) and what each item does."""

    tooltip: str
    open_label: str
    share_label: str
    autostart_label: str
    quit_label: str
    on_open: Callable[[], None]
    on_share: Callable[[bool], None]
    on_autostart: Callable[[bool], None]
    on_quit: Callable[[], None]


def _qt() -> Any:
    from qtpy import QtCore, QtGui, QtWidgets

    return QtCore, QtGui, QtWidgets


class QtShell:
    """The tray icon and badge of one launch; every method may be called from any thread."""

    def __init__(self) -> None:
        """Create on the GUI thread (pywebview's ``before_show`` event runs there)."""
        QtCore, _, QtWidgets = _qt()

        class Dispatcher(QtCore.QObject):
            run = QtCore.Signal(object)

            @QtCore.Slot(object)
            def execute(self, job: Callable[[], None]) -> None:
                job()

        app = QtWidgets.QApplication.instance()
        if app is None or app.thread() is not QtCore.QThread.currentThread():
            raise RuntimeError("QtShell must be created on the Qt GUI thread")
        self._app = app
        self._dispatcher = Dispatcher()
        # Queued: the slot runs on the thread the object lives on, the GUI thread.
        self._dispatcher.run.connect(
            self._dispatcher.execute, QtCore.Qt.ConnectionType.QueuedConnection
        )
        self._tray = None
        self._share_action = None
        self._autostart_action = None
        self._menu = None

    def call(self, function: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``function`` on the GUI thread and return its result."""
        if threading.current_thread() is threading.main_thread():
            return function()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def job() -> None:
            try:
                outcome["value"] = function()
            except BaseException as exc:  # handed back to the caller's thread
                outcome["error"] = exc
            finally:
                done.set()

        self._dispatcher.run.emit(job)
        if not done.wait(timeout):
            raise TimeoutError("the GUI thread did not answer")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    # --- the tray ---------------------------------------------------------------------------

    def show_tray(self, icon: str | None, menu: TrayMenu, *, sharing: bool, autostart: bool):
        """Put the icon in the tray (once); returns whether it is there."""
        return bool(self.call(lambda: self._show_tray(icon, menu, sharing, autostart)))

    def _show_tray(self, icon: str | None, spec: TrayMenu, sharing: bool, autostart: bool) -> bool:
        _, QtGui, QtWidgets = _qt()
        if self._tray is not None:
            return True
        if not QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            return False
        # Hidden windows and a closed dialog must not end the loop: the launcher ends it
        # itself (pywebview exits when its last window is destroyed).
        self._app.setQuitOnLastWindowClosed(False)
        tray = QtWidgets.QSystemTrayIcon(QtGui.QIcon(icon) if icon else QtGui.QIcon())
        menu = QtWidgets.QMenu()
        menu.addAction(spec.open_label).triggered.connect(lambda _=False: spec.on_open())
        menu.addSeparator()
        share = menu.addAction(spec.share_label)
        share.setCheckable(True)
        share.setChecked(sharing)
        share.triggered.connect(lambda checked: spec.on_share(bool(checked)))
        start = menu.addAction(spec.autostart_label)
        start.setCheckable(True)
        start.setChecked(autostart)
        start.triggered.connect(lambda checked: spec.on_autostart(bool(checked)))
        menu.addSeparator()
        menu.addAction(spec.quit_label).triggered.connect(lambda _=False: spec.on_quit())
        tray.setContextMenu(menu)
        tray.setToolTip(spec.tooltip)
        tray.activated.connect(lambda reason: self._on_activated(reason, spec.on_open))
        tray.show()
        # The menu is kept referenced here: setContextMenu does not take ownership of it.
        self._tray, self._menu = tray, menu
        self._share_action, self._autostart_action = share, start
        return True

    @staticmethod
    def _on_activated(reason: Any, on_open: Callable[[], None]) -> None:
        _, _, QtWidgets = _qt()
        if reason == QtWidgets.QSystemTrayIcon.ActivationReason.Trigger:  # a left click
            on_open()

    def tray_shown(self) -> bool:
        """Whether the icon is in a tray (Qt knows at once, ``show_tray`` said so)."""
        return self._tray is not None

    def set_checks(self, *, sharing: bool | None = None, autostart: bool | None = None) -> None:
        """Make the menu's check marks say what really happened (a switch can fail)."""

        def update() -> None:
            if sharing is not None and self._share_action is not None:
                self._share_action.setChecked(sharing)
            if autostart is not None and self._autostart_action is not None:
                self._autostart_action.setChecked(autostart)

        self.call(update)

    def show_message(self, title: str, body: str) -> None:
        """The tray icon's own balloon (where no notification service answers)."""
        self.call(lambda: self._tray.showMessage(title, body) if self._tray is not None else None)

    def set_tooltip(self, text: str) -> None:
        self.call(lambda: self._tray.setToolTip(text) if self._tray is not None else None)

    def ask(self, title: str, question: str, yes: str, no: str) -> bool:
        """A Yes/No question in a small dialog of its own (the window may be hidden)."""

        def run() -> bool:
            _, _, QtWidgets = _qt()
            box = QtWidgets.QMessageBox()
            box.setIcon(QtWidgets.QMessageBox.Icon.Question)
            box.setWindowTitle(title)
            box.setText(question)
            accept = box.addButton(yes, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
            box.setDefaultButton(box.addButton(no, QtWidgets.QMessageBox.ButtonRole.RejectRole))
            box.exec()
            return box.clickedButton() is accept

        return bool(self.call(run, timeout=24 * 3600))

    # --- the badge --------------------------------------------------------------------------

    def set_badge(self, count: int) -> None:
        """The unread count on the taskbar/Dock icon; 0 removes it."""

        def badge() -> None:
            _, QtGui, _ = _qt()
            QtGui.QGuiApplication.setDesktopFileName(DESKTOP_FILE)
            self._app.setBadgeNumber(count)

        self.call(badge)
