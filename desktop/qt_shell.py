"""What the launcher asks of Qt beyond pywebview's window: the tray icon and the unread badge.

Used when pywebview runs on its Qt backend (``desktop/tray_lifecycle.py`` picks the shell by
backend).

- The tray icon is Qt's own ``QSystemTrayIcon``: a StatusNotifierItem over D-Bus where the
  desktop has a watcher (KDE, GNOME with the AppIndicator extension), the freedesktop XEmbed
  system tray otherwise (XFCE, LXQt, ``trayer``), the notification area on Windows and the menu
  bar on macOS. ``QSystemTrayIcon.isSystemTrayAvailable()`` says whether one exists.
- The badge is ``QGuiApplication.setBadgeNumber`` (Qt 6.5+): the Dock on macOS, the taskbar
  on Windows, and on Linux the Unity LauncherEntry D-Bus signal for ``deskchat.desktop`` (read
  by GNOME's Dash to Dock, KDE's task manager, Plank).

Qt objects live on the GUI thread; ``call`` (``desktop/tray.py``) reaches it through a queued
signal. The menu's items come from ``desktop.tray.menu_items``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.tray import DESKTOP_FILE, Action, Check, GuiShell, MenuItem, Separator, TrayMenu


def _qt() -> Any:
    from qtpy import QtCore, QtGui, QtWidgets

    return QtCore, QtGui, QtWidgets


class QtShell(GuiShell):
    """The tray icon and badge of one launch on Qt."""

    def __init__(self, window: Any = None) -> None:
        """Create on the GUI thread (pywebview's ``before_show`` event runs there)."""
        super().__init__(window)
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
        self._menu = None

    def _post(self, job: Callable[[], None]) -> None:
        self._dispatcher.run.emit(job)

    # --- the tray ---------------------------------------------------------------------------

    def _has_tray(self) -> bool:
        return self._tray is not None

    def _show_tray(self, icon: str | None, spec: TrayMenu, items: list[MenuItem]) -> bool:
        _, QtGui, QtWidgets = _qt()
        if not QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            return False
        # Hidden windows and a closed dialog must not end the loop: the launcher ends it
        # itself (pywebview exits when its last window is destroyed).
        self._app.setQuitOnLastWindowClosed(False)
        tray = QtWidgets.QSystemTrayIcon(QtGui.QIcon(icon) if icon else QtGui.QIcon())
        menu = QtWidgets.QMenu()
        for item in items:
            if isinstance(item, Separator):
                menu.addSeparator()
            elif isinstance(item, Action):
                menu.addAction(item.label).triggered.connect(
                    lambda _=False, run=item.run: self._chosen(run)
                )
            elif isinstance(item, Check):
                action = menu.addAction(item.label)
                action.setCheckable(True)
                action.setChecked(item.checked)
                action.triggered.connect(
                    lambda checked, check=item: self._toggled(check, bool(checked))
                )
                self._checks[item.name] = action
        tray.setContextMenu(menu)
        tray.setToolTip(spec.tooltip)
        tray.activated.connect(lambda reason: self._on_activated(reason, spec.on_open))
        tray.show()
        # The menu is kept referenced here: setContextMenu does not take ownership of it.
        self._tray, self._menu = tray, menu
        return True

    def _on_activated(self, reason: Any, on_open: Callable[[], None]) -> None:
        _, _, QtWidgets = _qt()
        if reason == QtWidgets.QSystemTrayIcon.ActivationReason.Trigger:  # a left click
            self._chosen(on_open)

    def tray_shown(self) -> bool:
        """Whether the icon is in a tray (Qt knows at once, ``show_tray`` said so)."""
        return self._tray is not None

    def _set_checked(self, item: Any, on: bool) -> None:
        item.setChecked(on)

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
