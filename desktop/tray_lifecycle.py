"""The tray icon over a launch's life: set up before the window shows, closing to the tray,
and its menu's switches and Quit.

The icon, its menu and the badge are drawn by a *shell*, one per GUI toolkit
(``desktop/tray.py`` and its ``*_shell.py``); this module decides what they do. While the
host shares on the network or others are connected, the window's close button hides it to
the tray (the first time, a notification says where it went); Quit always ends the launch,
after asking when others are connected. A window that only joins another server gets the
badge but no tray icon, and without a tray closing quits as before.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from desktop import notifications, pages
from desktop.tray import GuiShell, TrayMenu
from desktop.window_api import NOTIFY_WAIT

if TYPE_CHECKING:
    from desktop.window import DesktopApp

logger = logging.getLogger(__name__)


class TrayLifecycle:
    """One launch's shell: made once for the window's GUI backend, if that backend has one."""

    def __init__(self, app: DesktopApp) -> None:
        self._app = app
        self.shell: GuiShell | None = None

    def start(self) -> None:
        """The GUI toolkit's extras: the unread badge, and for a host the tray icon.

        Runs on the GUI thread, before the window first shows (pywebview's ``before_show``).
        """
        if self.shell is not None:
            return
        app = self._app
        gui = getattr(getattr(app.window, "gui", None), "__name__", "")
        Shell = shell_class(gui)
        if Shell is None:
            logger.info("no tray icon or badge on this GUI backend (%s)", gui or "unknown")
            return
        try:
            self.shell = Shell(window=app.window)
            if app.host is None:
                return
            with pages.activated():
                menu = TrayMenu(
                    tooltip=app.title,
                    open_label=_("Open Deskchat"),
                    share_label=_("Share on the network"),
                    autostart_label=_("Start Deskchat when I log in"),
                    quit_label=_("Quit"),
                    on_open=app.show_window,
                    on_share=self._share,
                    on_autostart=app.set_autostart,
                    on_quit=self._quit,
                )
            offered = self.shell.show_tray(
                app.icon,
                menu,
                sharing=app.host.sharing.lan_port is not None,
                autostart=app.autostart_enabled(),
            )
        except Exception:
            logger.warning("cannot set up the tray icon", exc_info=True)
            return
        logger.info("tray icon %s", "shown" if offered else "not available: closing quits")

    def set_checks(self, **checks: bool) -> None:
        """Keep the menu's check marks in step with a switch made elsewhere (the panel)."""
        if self.shell is not None:
            self.shell.set_checks(**checks)

    def _share(self, on: bool) -> None:
        threading.Thread(
            target=self._app.set_lan, args=(on,), name="tray-share", daemon=True
        ).start()

    def _quit(self) -> None:
        """Quit from the tray; with others connected, say how many and ask first."""
        app = self._app
        others = app.host.account.connected_others() if app.host is not None else 0
        if others:
            with pages.activated():
                question = ngettext(
                    "%(count)d person is connected to your chat. If you quit, the chat stops "
                    "for them too. Quit anyway?",
                    "%(count)d people are connected to your chat. If you quit, the chat stops "
                    "for them too. Quit anyway?",
                    others,
                ) % {"count": others}
                title, yes, no = _("Quit Deskchat?"), _("Quit"), _("Keep running")
            if not self.shell.ask(title, question, yes, no):
                logger.info("quit cancelled: %d people connected", others)
                return
        app.quit()

    # --- the close button -----------------------------------------------------------------

    def on_closing(self) -> bool | None:
        """The close button: hide to the tray while others rely on this host, else close.

        Runs on the GUI thread; returning False keeps the window (pywebview's ``closing``).
        """
        app = self._app
        if app.quitting or not self._keeps_serving():
            app.quitting = True
            return None
        logger.info("window hidden to the tray: the chat stays up for others")
        app.window.hide()
        threading.Thread(target=self._say_still_running, name="tray-hint", daemon=True).start()
        return False

    def _keeps_serving(self) -> bool:
        host = self._app.host
        if host is None or self.shell is None or host.server is None:
            return False
        if not self.shell.tray_shown():
            return False
        if host.sharing.lan_port is not None:
            return True
        try:
            return host.account.connected_others() > 0
        except Exception:
            logger.warning("cannot count who is connected; closing", exc_info=True)
            return False

    def _say_still_running(self) -> None:
        """The first time only: one line on why the window went away and where it is."""
        app = self._app
        if app.host is None or app.host.prefs.tray_hint_shown:
            return
        with pages.activated():
            title = _("Deskchat is still running")
            body = _("Others can keep chatting. Open or quit Deskchat from its icon in the tray.")
        try:
            shown = app.notifier.show(
                title, body, on_clicked=lambda: notifications.in_thread(app.show_window)
            ).result(NOTIFY_WAIT)
        except Exception:
            shown = False
        if not shown and self.shell is not None:
            # No notification service: the tray's own balloon says it instead.
            self.shell.show_message(title, body)
        app.host.prefs.tray_hint_shown = True
        app.host.save_prefs()


def shell_class(gui: str) -> type[GuiShell] | None:
    """The shell for pywebview's backend module ``gui`` (``webview.platforms.qt``...), if any."""
    backend = gui.rsplit(".", 1)[-1]
    if backend == "qt":
        from desktop.qt_shell import QtShell

        return QtShell
    if backend == "gtk":
        from desktop.gtk_shell import GtkShell

        return GtkShell
    if backend == "winforms":
        from desktop.winforms_shell import WinFormsShell

        return WinFormsShell
    if backend == "cocoa":
        from desktop.cocoa_shell import CocoaShell

        return CocoaShell
    return None
