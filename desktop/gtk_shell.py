"""The tray icon and unread badge on pywebview's GTK backend (WebKitGTK), as ``qt_shell`` on Qt.

- The tray icon is GTK 3's own ``Gtk.StatusIcon``: the freedesktop XEmbed system tray (XFCE,
  MATE, LXDE, ``trayer``, KDE through its XEmbed proxy). GTK deprecated it for lack of a tray
  on GNOME, but it is still GTK 3's one tray API; whether a tray took the icon is only known
  once it embeds it, so ``tray_shown`` asks at the moment it matters (the close button).
- The badge is the Unity LauncherEntry D-Bus signal for ``application://deskchat.desktop``
  (what Qt's ``setBadgeNumber`` sends on Linux), emitted with GLib's own D-Bus (Gio).

GTK objects live on the GUI thread (pywebview runs ``Gtk.main`` on the main thread); ``call``
(``desktop/tray.py``) reaches it with ``GLib.idle_add``. The menu's items come from
``desktop.tray.menu_items``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from desktop.tray import DESKTOP_FILE, Action, Check, GuiShell, MenuItem, Separator, TrayMenu

LAUNCHER_ENTRY_PATH = "/com/canonical/unity/launcherentry/deskchat"


def _gtk() -> Any:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import Gio, GLib, Gtk

    return Gtk, GLib, Gio


logger = logging.getLogger(__name__)


class GtkShell(GuiShell):
    """The tray icon and badge of one launch on GTK 3."""

    def __init__(self, window: Any = None) -> None:
        """Create on the GUI thread (pywebview's ``before_show`` event runs there)."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("GtkShell must be created on the GTK main thread")
        super().__init__(window)
        self._icon = None
        self._menu = None
        self._no_session_bus = False
        self._bus = None  # the session bus, held: GIO keeps only a weak reference to it

    def _post(self, job: Callable[[], None]) -> None:
        _, GLib, _ = _gtk()
        GLib.idle_add(lambda: bool(job()))  # False: run once

    # --- the tray ---------------------------------------------------------------------------

    def _has_tray(self) -> bool:
        return self._icon is not None

    def _show_tray(self, icon: str | None, spec: TrayMenu, items: list[MenuItem]) -> bool:
        Gtk, _, _ = _gtk()
        status = Gtk.StatusIcon.new_from_file(icon) if icon else Gtk.StatusIcon()
        status.set_title("Deskchat")
        status.set_name("deskchat")
        status.set_tooltip_text(spec.tooltip)
        menu = Gtk.Menu()
        for item in items:
            if isinstance(item, Separator):
                menu.append(Gtk.SeparatorMenuItem())
            elif isinstance(item, Action):
                entry = Gtk.MenuItem(label=item.label)
                entry.connect("activate", lambda _entry, run=item.run: self._chosen(run))
                menu.append(entry)
            elif isinstance(item, Check):
                entry = Gtk.CheckMenuItem(label=item.label)
                entry.set_active(item.checked)
                entry.connect(
                    "toggled", lambda box, check=item: self._toggled(check, bool(box.get_active()))
                )
                menu.append(entry)
                self._checks[item.name] = entry
        menu.show_all()
        status.connect("activate", lambda _icon: self._chosen(spec.on_open))
        status.connect(
            "popup-menu",
            lambda icon_, button, when: menu.popup(
                None, None, Gtk.StatusIcon.position_menu, icon_, button, when
            ),
        )
        status.set_visible(True)
        self._icon, self._menu = status, menu
        return True

    def tray_shown(self) -> bool:
        """Whether a system tray has embedded the icon (on screen now)."""
        return bool(self.call(lambda: self._icon is not None and self._icon.is_embedded()))

    def _set_checked(self, item: Any, on: bool) -> None:
        item.set_active(on)  # fires "toggled": ``_toggled`` ignores it while set_checks runs

    def set_tooltip(self, text: str) -> None:
        self.call(lambda: self._icon.set_tooltip_text(text) if self._icon is not None else None)

    def show_message(self, title: str, body: str) -> None:
        """GTK's tray icon has no balloon of its own: the tooltip carries the line instead."""
        self.set_tooltip(f"{title}\n{body}")

    def ask(self, title: str, question: str, yes: str, no: str) -> bool:
        """A Yes/No question in a small dialog of its own (the window may be hidden)."""

        def run() -> bool:
            Gtk, _, _ = _gtk()
            dialog = Gtk.MessageDialog(
                message_type=Gtk.MessageType.QUESTION, buttons=Gtk.ButtonsType.NONE, text=title
            )
            dialog.format_secondary_text(question)
            dialog.set_title(title)
            dialog.add_button(yes, Gtk.ResponseType.ACCEPT)
            dialog.add_button(no, Gtk.ResponseType.REJECT)
            dialog.set_default_response(Gtk.ResponseType.REJECT)
            answer = dialog.run()
            dialog.destroy()
            return answer == Gtk.ResponseType.ACCEPT

        return bool(self.call(run, timeout=24 * 3600))

    # --- the badge --------------------------------------------------------------------------

    def set_badge(self, count: int) -> None:
        """The unread count on the launcher icon (Unity LauncherEntry); 0 removes it. Without
        a session bus (no desktop session: a kiosk, a test's bare X server) there is no launcher
        to show it on: said once, then skipped."""
        _, GLib, Gio = _gtk()
        if self._no_session_bus:
            return
        if self._bus is None:
            try:
                self._bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            except GLib.Error as error:
                self._no_session_bus = True
                logger.info("no session bus, so no taskbar badge: %s", error.message)
                return
        bus = self._bus
        properties = {
            "count": GLib.Variant("x", count),
            "count-visible": GLib.Variant("b", count > 0),
        }
        bus.emit_signal(
            None,
            LAUNCHER_ENTRY_PATH,
            "com.canonical.Unity.LauncherEntry",
            "Update",
            GLib.Variant("(sa{sv})", (f"application://{DESKTOP_FILE}.desktop", properties)),
        )
        # emit_signal only queues it for GDBus's worker thread; a connection released before
        # that thread wrote it dropped the signal (the badge test missed it now and then).
        bus.flush_sync(None)
