"""The native window: pywebview on the main thread, the chat server in a thread beside it.

The main window shows the launcher's first-run screen (``desktop/pages.py``, from the templates
in ``ui/templates/desktop/``) until the desktop's own account exists, then the chat, signed in
through a one-time launch token. A menu opens the sharing panel in a second window. Closing the
main window ends ``webview.start()``; the caller then stops the server. Every text it shows is
translated into the session's language (``pages.activated``).

``DesktopApp`` builds the windows and moves between their pages; the rest of a launch's life
is in modules of their own, which it composes: what the chat page's ``notify`` and
``set_unread`` do (``desktop/chat_bridge.py``), the tray icon and closing to it
(``desktop/tray_lifecycle.py``), the control socket (``desktop/window_control.py``), finding
servers to join (``discovery.OnDemandBrowser``) and how the process ends
(``desktop/window_exit.py``). What pages may call is in ``desktop/window_api.py``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from chatserver.paths import app_icon
from desktop import autostart, discovery, notifications, pages, pywebview_internals
from desktop.chat_bridge import ChatBridge
from desktop.tray_lifecycle import TrayLifecycle
from desktop.window_api import ErrorApi, MainApi, SharingApi
from desktop.window_control import WindowControl
from desktop.window_exit import close_on_signals

logger = logging.getLogger(__name__)

TITLE = "Deskchat"
SIZE = (1100, 760)
MIN_SIZE = (480, 420)


def icon_path() -> str | None:
    """The PNG window icon (Qt cannot use the SVG fallback as a window icon everywhere)."""
    path = app_icon(256)
    return str(path) if path.exists() and path.suffix == ".png" else None


class DesktopApp:
    """The windows of one launch. ``host`` is ``None`` when only joining another server."""

    def __init__(
        self,
        host=None,
        *,
        open_sharing: bool = False,
        debug: bool = False,
        publish: Callable[..., None] | None = None,
        pins_dir=None,
        open_link: discovery.Found | None = None,
    ) -> None:
        self.host = host
        # Where --join remembers the fingerprints of the servers it opened (desktop/pinning.py).
        self.pins_dir = pins_dir if pins_dir is not None else getattr(host, "data_dir", None)
        self._pins: dict[str, str] = {}  # origin -> the fingerprint its certificate must have
        self._pinning_hooked = False
        self.open_link = open_link  # `--join LINK`: opened once the window is up
        self.debug = debug
        self.open_sharing = open_sharing
        self.title = TITLE  # the main window's title without the unread count
        self.icon = icon_path()
        self.window = None
        self.sharing_window = None
        self.api = MainApi(self)
        self.browser = discovery.OnDemandBrowser()  # while a join screen shows
        # Where the control channel is announced: instance.json when hosting.
        self.control = WindowControl(self, publish or (host.publish if host is not None else None))
        self._all_windows: list = []
        self.chat_open = False  # the window shows a chat page (ours or a joined server's)
        self.notifier = notifications.Notifier(self.icon)
        self.chat_bridge = ChatBridge(self)
        self.tray = TrayLifecycle(self)
        self.quitting = False  # Quit was asked for: the close button closes, never hides
        self.autostart = (
            autostart.Autostart(autostart.launch_command(host.options.data_dir), icon=self.icon)
            if host is not None
            else None
        )

    # --- building ---------------------------------------------------------------------

    def first_page(self) -> dict[str, Any]:
        """``url=`` straight into the chat when the owner is known, else our first screen."""
        if self.host is None and self.open_link is not None:
            return {"html": pages.join(can_host=False, servers=[self.open_link])}
        if self.host is None:
            self.browser.start()
            return {"html": pages.join(can_host=False, servers=self.servers())}
        if self.host.account.owner() is not None:
            self.api.active = False
            self.chat_open = True
            return {"url": self.host.account.login_url()}
        return {"html": pages.welcome(has_accounts=self.host.account.has_accounts())}

    def menu(self) -> list:
        from webview.menu import Menu, MenuAction, MenuSeparator

        items = []
        with pages.activated():
            if self.host is not None:
                items += [
                    MenuAction(_("Share on the network…"), self.show_sharing),
                    MenuSeparator(),
                ]
            items += [MenuAction(_("Reload"), self.reload), MenuAction(_("Quit"), self.quit)]
        return [Menu("Deskchat", items)]

    def run(self) -> None:
        """Create the window and run the GUI loop on this (the main) thread until it closes."""
        import webview

        _name_the_application()
        # Files in messages are downloads (docs/protocol.md, "Files"); pywebview drops them
        # unless told, and then asks where to save each one.
        webview.settings["ALLOW_DOWNLOADS"] = True
        first = self.first_page()
        # GTK has one menu bar for the application, not one per window (pywebview warns and
        # drops a window's own): there it goes to start(), and the sharing window shares it.
        app_wide = _app_wide_menu()
        self.window = webview.create_window(
            self.title,
            js_api=self.api,
            width=SIZE[0],
            height=SIZE[1],
            min_size=MIN_SIZE,
            menu=[] if app_wide else self.menu(),
            background_color="#f3f4f6",
            text_select=True,
            **first,
        )
        self._all_windows.append(self.window)
        pywebview_internals.bridge_without_eval(self.window)
        self.window.events.before_show += self.tray.start
        self.window.events.closing += self.tray.on_closing
        self.window.events.closed += self._on_main_closed
        self.window.events.loaded += self.control.on_loaded
        self.control.start()
        webview.start(
            self._on_started,
            gui=os.environ.get("PYWEBVIEW_GUI") or None,
            debug=self.debug,
            icon=self.icon,
            private_mode=True,
            menu=self.menu() if app_wide else [],
        )
        logger.info("window loop ended")
        abandoned = pywebview_internals.release_pending_scripts(self._all_windows)
        if abandoned:
            logger.info("released %d script call(s) left waiting by the closed window", abandoned)
        # Bounded: a zeroconf shutdown that hangs must not keep a closed window's process
        # alive (seen once in CI: the join window's process outlived its window by 30 s).
        stopper = threading.Thread(target=self.browser.stop, name="stop-browsing", daemon=True)
        stopper.start()
        stopper.join(5)
        if stopper.is_alive():
            logger.warning("network discovery did not stop within 5 s; exiting anyway")
        self.control.close()
        self.notifier.close()
        logger.info("window shut down")

    def _on_started(self) -> None:
        logger.info("window open")
        if self.open_link is not None:
            self.open_remote(self.open_link)
        if self.open_sharing and self.host is not None:
            self.show_sharing()

    # --- navigation -------------------------------------------------------------------

    def open_chat(self) -> None:
        """The owner exists now: sign the window in and show the chat."""
        self.api.active = False
        self.chat_open = True
        self.browser.stop()
        self.window.load_url(self.host.account.login_url())

    def show_welcome(self) -> None:
        self.chat_open = False
        self.browser.stop()
        self.window.load_html(pages.welcome(has_accounts=self.host.account.has_accounts()))

    def show_join(self) -> None:
        self.chat_open = False
        self.browser.start()
        self.window.load_html(pages.join(can_host=self.host is not None, servers=self.servers()))

    def servers(self) -> list[discovery.Found]:
        """The chats the join screen offers: what discovery found, but our own."""
        found = self.browser.servers()
        if self.host is not None and self.host.sharing.lan_port:
            # Our own announcement is not a chat to join.
            found = [f for f in found if f.port != self.host.sharing.lan_port]
        return found

    def open_remote(self, server: discovery.Found) -> None:
        """Open another Deskchat; over HTTPS only once its certificate is the one it announces
        and the one we pinned for its name (desktop/pinning.py)."""
        from desktop import pinning

        url = server.url
        if server.scheme == "https":
            try:
                with pages.activated():  # the refusal in the window's language
                    fingerprint = pinning.check(
                        self.pins_dir, name=server.name, url=url, fingerprint=server.fingerprint
                    )
            except pinning.PinRefused as refused:
                logger.warning("not opening %s: %s", url, refused)
                self.window.load_html(
                    pages.join(
                        can_host=self.host is not None, servers=self.servers(), refused=str(refused)
                    )
                )
                return
            self._pins[_origin(url)] = fingerprint
            self._hook_pinning()
        logger.info("joining %s", url)
        self.api.active = False
        self.chat_open = True
        self.browser.stop()
        self.window.load_url(url)

    def _hook_pinning(self) -> None:
        from desktop import pinning

        if self._pinning_hooked:
            return

        def accept(url: str, chain: list[bytes]) -> bool:
            pin = self._pins.get(_origin(url))
            return pin is not None and pinning.chain_is_pinned(url, chain, pin)

        self._pinning_hooked = pywebview_internals.accept_pinned_certificates(self.window, accept)
        if not self._pinning_hooked:
            logger.warning("this web engine cannot check pinned certificates")

    def reload(self) -> None:
        if self.host is not None and self.host.account.owner() is not None:
            self.window.load_url(self.host.account.login_url())
        else:
            self.window.run_js("location.reload()")  # not evaluate_js: the CSP forbids eval

    def show_sharing(self) -> None:
        import webview

        if self.sharing_window is not None:
            self.sharing_window.restore()
            return
        with pages.activated():
            title = _("Deskchat — Sharing")
        self.sharing_window = webview.create_window(
            title,
            html=pages.sharing(),
            js_api=SharingApi(self),
            width=520,
            height=760,
            min_size=(400, 420),
            background_color="#f3f4f6",
        )
        self._all_windows.append(self.sharing_window)
        pywebview_internals.bridge_without_eval(
            self.sharing_window
        )  # its calls wait for Qt's channel
        self.sharing_window.events.closed += self._on_sharing_closed

    def _on_sharing_closed(self) -> None:
        self.sharing_window = None

    def show_window(self) -> None:
        """Bring the main window back (from the tray, a notification or a second launch)."""
        if self.window is not None and not self.quitting:
            self.window.show()
            self.window.restore()

    def quit(self) -> None:
        """End the launch (the menu's Quit, the tray's Quit, SIGTERM): never hides."""
        self.quitting = True
        if self.window is not None:
            self.window.destroy()

    def _on_main_closed(self) -> None:
        logger.info("window closed")
        if self.sharing_window is not None:
            self.sharing_window.destroy()

    # --- the host's switches (sharing panel and tray menu alike) ---------------------------

    def sharing_status(self) -> dict:
        """The sharing panel's state: the host's, and whether Deskchat starts at log-in."""
        return {**self.host.sharing.sharing_status(), "autostart": self.autostart_enabled()}

    def set_lan(self, on: bool) -> None:
        status = self.host.sharing.set_lan(on)
        self.tray.set_checks(sharing=status["sharing"])

    def autostart_enabled(self) -> bool:
        return self.autostart is not None and self.autostart.enabled()

    def set_autostart(self, on: bool) -> None:
        """Write or remove the OS's log-in entry; a failure is logged and shows as "off"."""
        if self.autostart is None:
            return
        try:
            self.autostart.set(on)
        except OSError as error:
            logger.warning("cannot change the log-in entry: %s", error)
        enabled = self.autostart.enabled()
        logger.info("start at log-in: %s", "on" if enabled else "off")
        self.tray.set_checks(autostart=enabled)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _app_wide_menu() -> bool:
    """Whether this backend takes its menu at ``webview.start`` (GTK) instead of per window."""
    from desktop import guicheck

    return sys.platform.startswith("linux") and guicheck.web_engine() == "gtk"


def _name_the_application() -> None:
    """Qt names the X11 window class after ``argv[0]`` ("__main__.py" under ``-m``); desktop
    files match on it (StartupWMClass=deskchat)."""
    if sys.platform.startswith("linux"):
        sys.argv[0] = "deskchat"


def show_error(message: str, *, log_file: str = "") -> None:
    """A small window with the start-up error in plain words and a Close button."""
    import webview

    api = ErrorApi()
    with pages.activated():
        title = _("Deskchat could not start")
    api._window = webview.create_window(
        title,
        html=pages.error(message, log_file=log_file),
        js_api=api,
        width=560,
        height=520,
        background_color="#f3f4f6",
    )
    close_on_signals(api.close)
    _name_the_application()
    webview.start(gui=os.environ.get("PYWEBVIEW_GUI") or None, icon=icon_path())
