"""The native window: pywebview on the main thread, the chat server in a thread beside it.

The main window shows the launcher's first-run screen (``desktop/pages.py``, from the templates
in ``ui/templates/desktop/``) until the desktop's own account exists, then the chat, signed in
through a one-time launch token. A menu opens the sharing panel in a second window. Closing the
main window ends ``webview.start()``; the caller then stops the server. Every text it shows is
translated into the session's language (``pages.activated``).

The chat page reaches the launcher through ``window.pywebview.api``: ``notify(payload)`` shows
a native notification (``desktop/notifications.py``) whose click brings the window back on
that conversation, ``set_unread(count)`` puts the count in the window title and on the
taskbar/Dock badge. With a system tray (Qt, GTK, WinForms and Cocoa backends: the shells of
``desktop/tray.py``), the host's window hides to a tray icon instead of closing while it shares
on the network or others are connected; the tray menu and the sharing panel switch "Start
Deskchat when I log in" (``desktop/autostart.py``). Without a tray, closing quits as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NoReturn

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chatserver.paths import app_icon
from desktop import autostart, discovery, notifications, pages, pywebview_internals
from desktop.tray import GuiShell, TrayMenu
from desktop.window_api import NOTIFY_WAIT, ErrorApi, MainApi, SharingApi

logger = logging.getLogger(__name__)

TITLE = "Deskchat"
SIZE = (1100, 760)
MIN_SIZE = (480, 420)
PROBE_ENV = "DESKCHAT_TEST_PROBE"

# What tests read from the page (DESKCHAT_TEST_PROBE=1): the title, who is signed in and the
# connection's state (the chat page carries both on #app), the address, and the visible
# text. Run with ``run_js``, not ``evaluate_js``: the latter wraps the script in eval(),
# which the chat's CSP forbids.
PROBE_JS = """JSON.stringify({
  title: document.title,
  url: location.href.slice(0, 200),
  user: (document.querySelector('#app') || {dataset: {}}).dataset.user || null,
  state: (document.querySelector('#app') || {dataset: {}}).dataset.state || null,
  text: (document.body ? document.body.innerText : '').slice(0, 20000)
})"""


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
        # Where the control channel is announced: instance.json when hosting.
        self._publish = publish or (host.publish if host is not None else None)
        self.debug = debug
        self.open_sharing = open_sharing
        self.window = None
        self.sharing_window = None
        self.api = MainApi(self)
        self._browser: discovery.Browser | None = None
        self._browser_lock = threading.Lock()
        self._probe_file = os.environ.get(PROBE_ENV, "")
        self.control = None
        self._all_windows: list = []
        self.chat_open = False  # the window shows a chat page (ours or a joined server's)
        self.notifier = notifications.Notifier(icon_path())
        self.shell: GuiShell | None = None  # by GUI backend: desktop/tray.py
        self._quitting = False
        self.autostart = (
            autostart.Autostart(autostart.launch_command(host.options.data_dir), icon=icon_path())
            if host is not None
            else None
        )

    # --- building ---------------------------------------------------------------------

    def first_page(self) -> dict[str, Any]:
        """``url=`` straight into the chat when the owner is known, else our first screen."""
        if self.host is None and self.open_link is not None:
            return {"html": pages.join(can_host=False, servers=[self.open_link])}
        if self.host is None:
            self._start_browsing()
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
            TITLE,
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
        self.window.events.before_show += self._start_shell
        self.window.events.closing += self._on_closing
        self.window.events.closed += self._on_main_closed
        self.window.events.loaded += self._on_loaded
        self._start_control()
        webview.start(
            self._on_started,
            gui=os.environ.get("PYWEBVIEW_GUI") or None,
            debug=self.debug,
            icon=icon_path(),
            private_mode=True,
            menu=self.menu() if app_wide else [],
        )
        logger.info("window loop ended")
        abandoned = pywebview_internals.release_pending_scripts(self._all_windows)
        if abandoned:
            logger.info("released %d script call(s) left waiting by the closed window", abandoned)
        # Bounded: a zeroconf shutdown that hangs must not keep a closed window's process
        # alive (seen once in CI: the join window's process outlived its window by 30 s).
        stopper = threading.Thread(target=self._stop_browsing, name="stop-browsing", daemon=True)
        stopper.start()
        stopper.join(5)
        if stopper.is_alive():
            logger.warning("network discovery did not stop within 5 s; exiting anyway")
        if self.control is not None:
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
        self._stop_browsing()
        self.window.load_url(self.host.account.login_url())

    def show_welcome(self) -> None:
        self.chat_open = False
        self._stop_browsing()
        self.window.load_html(pages.welcome(has_accounts=self.host.account.has_accounts()))

    def show_join(self) -> None:
        self.chat_open = False
        self._start_browsing()
        self.window.load_html(pages.join(can_host=self.host is not None, servers=self.servers()))

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
        self._stop_browsing()
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

    def quit(self) -> None:
        """End the launch (the menu's Quit, the tray's Quit, SIGTERM): never hides."""
        self._quitting = True
        if self.window is not None:
            self.window.destroy()

    def _on_closing(self) -> bool | None:
        """The close button: hide to the tray while others rely on this host, else close.

        Runs on the GUI thread; returning False keeps the window (pywebview's ``closing``).
        """
        if self._quitting or not self._keeps_serving():
            self._quitting = True
            return None
        logger.info("window hidden to the tray: the chat stays up for others")
        self.window.hide()
        threading.Thread(target=self._say_still_running, name="tray-hint", daemon=True).start()
        return False

    def _keeps_serving(self) -> bool:
        if self.host is None or self.shell is None or self.host.server is None:
            return False
        if not self.shell.tray_shown():
            return False
        if self.host.sharing.lan_port is not None:
            return True
        try:
            return self.host.account.connected_others() > 0
        except Exception:
            logger.warning("cannot count who is connected; closing", exc_info=True)
            return False

    def _say_still_running(self) -> None:
        """The first time only: one line on why the window went away and where it is."""
        if self.host is None or self.host.prefs.tray_hint_shown:
            return
        with pages.activated():
            title = _("Deskchat is still running")
            body = _("Others can keep chatting. Open or quit Deskchat from its icon in the tray.")
        try:
            shown = self.notifier.show(
                title, body, on_clicked=lambda: _in_thread(self.show_window)
            ).result(NOTIFY_WAIT)
        except Exception:
            shown = False
        if not shown and self.shell is not None:
            # No notification service: the tray's own balloon says it instead.
            self.shell.show_message(title, body)
        self.host.prefs.tray_hint_shown = True
        self.host.save_prefs()

    def show_window(self) -> None:
        """Bring the main window back (from the tray, a notification or a second launch)."""
        if self.window is not None and not self._quitting:
            self.window.show()
            self.window.restore()

    # --- notifications, unread count and the tray ----------------------------------------

    def notify(self, request: notifications.NotifyRequest) -> Future:
        conversation = dict(request.conversation)
        return self.notifier.show(
            request.title,
            request.body,
            sound=request.sound,
            on_clicked=lambda: _in_thread(self.open_conversation, conversation),
        )

    def open_conversation(self, conversation: dict[str, str]) -> None:
        """A notification was clicked: the window, on that conversation."""
        if not self.chat_open or self.window is None:
            return
        self.show_window()
        # A JSON literal is a JavaScript literal; run_js, not evaluate_js (the CSP forbids eval).
        target = json.dumps(conversation)
        self.window.run_js(
            "window.deskchat && window.deskchat.openConversation"
            f" && window.deskchat.openConversation({target})"
        )

    def set_unread(self, count: int) -> None:
        self.window.set_title(notifications.window_title(TITLE, count))
        if self.shell is not None:
            try:
                self.shell.set_badge(count)
                self.shell.set_tooltip(notifications.window_title(TITLE, count))
            except Exception:
                logger.warning("cannot set the taskbar badge", exc_info=True)

    def _start_shell(self) -> None:
        """The GUI toolkit's extras: the unread badge, and for a host the tray icon.

        Runs on the GUI thread, before the window first shows (pywebview's ``before_show``).
        """
        if self.shell is not None:
            return
        gui = getattr(getattr(self.window, "gui", None), "__name__", "")
        Shell = _shell_class(gui)
        if Shell is None:
            logger.info("no tray icon or badge on this GUI backend (%s)", gui or "unknown")
            return
        try:
            self.shell = Shell(window=self.window)
            if self.host is None:
                return
            with pages.activated():
                menu = TrayMenu(
                    tooltip=TITLE,
                    open_label=_("Open Deskchat"),
                    share_label=_("Share on the network"),
                    autostart_label=_("Start Deskchat when I log in"),
                    quit_label=_("Quit"),
                    on_open=self.show_window,
                    on_share=self._tray_share,
                    on_autostart=self._tray_autostart,
                    on_quit=self._tray_quit,
                )
            offered = self.shell.show_tray(
                icon_path(),
                menu,
                sharing=self.host.sharing.lan_port is not None,
                autostart=self.autostart_enabled(),
            )
        except Exception:
            logger.warning("cannot set up the tray icon", exc_info=True)
            return
        logger.info("tray icon %s", "shown" if offered else "not available: closing quits")

    def _tray_share(self, on: bool) -> None:
        threading.Thread(target=self.set_lan, args=(on,), name="tray-share", daemon=True).start()

    def _tray_autostart(self, on: bool) -> None:
        self.set_autostart(on)

    # --- the host's switches (sharing panel and tray menu alike) ---------------------------

    def sharing_status(self) -> dict:
        """The sharing panel's state: the host's, and whether Deskchat starts at log-in."""
        return {**self.host.sharing.sharing_status(), "autostart": self.autostart_enabled()}

    def set_lan(self, on: bool) -> None:
        status = self.host.sharing.set_lan(on)
        if self.shell is not None:
            self.shell.set_checks(sharing=status["sharing"])

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
        if self.shell is not None:
            self.shell.set_checks(autostart=enabled)

    def _tray_quit(self) -> None:
        """Quit from the tray; with others connected, say how many and ask first."""
        others = self.host.account.connected_others() if self.host is not None else 0
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
        self.quit()

    def _on_main_closed(self) -> None:
        logger.info("window closed")
        if self.sharing_window is not None:
            self.sharing_window.destroy()

    # --- discovery --------------------------------------------------------------------

    def _start_browsing(self) -> None:
        with self._browser_lock:
            if self._browser is None:
                try:
                    self._browser = discovery.Browser().start()
                except Exception as exc:
                    logger.warning("cannot look for servers on the network: %s", exc)

    def _stop_browsing(self) -> None:
        with self._browser_lock:
            if self._browser is not None:
                self._browser.close()
                self._browser = None

    def servers(self) -> list[discovery.Found]:
        with self._browser_lock:
            found = self._browser.servers() if self._browser is not None else []
        if self.host is not None and self.host.sharing.lan_port:
            # Our own announcement is not a chat to join.
            found = [f for f in found if f.port != self.host.sharing.lan_port]
        return found

    # --- second launches and tests ----------------------------------------------------

    def _start_control(self) -> None:
        from desktop.control import ControlServer

        handlers: dict[str, Callable[[dict], dict]] = {
            "raise": self._cmd_raise,
            "close": self._cmd_close,
        }
        if self._probe_file:
            handlers["probe"] = self._cmd_probe
            handlers["eval"] = self._cmd_eval
            handlers["sharing"] = self._cmd_sharing
        self.control = ControlServer(handlers).start()
        if self._publish is not None:
            self._publish(**self.control.published())

    def _cmd_raise(self, request: dict) -> dict:
        logger.info("another launch asked to show the window")
        self.show_window()
        return {}

    def _cmd_close(self, request: dict) -> dict:
        threading.Timer(0.05, self.window.destroy).start()
        return {}

    def _cmd_probe(self, request: dict) -> dict:
        target = self.sharing_window if request.get("window") == "sharing" else self.window
        return {"page": json.loads(target.run_js(PROBE_JS))}

    def _cmd_eval(self, request: dict) -> dict:
        target = self.sharing_window if request.get("window") == "sharing" else self.window
        return {"result": target.run_js(str(request.get("script", "")))}

    def _cmd_sharing(self, request: dict) -> dict:
        if request.get("hide") and self.sharing_window is not None:
            self.sharing_window.hide()
        else:
            self.show_sharing()
        return {}

    def _on_loaded(self) -> None:
        if not self._probe_file or self._probe_file == "1":
            return
        try:
            page = json.loads(self.window.run_js(PROBE_JS))
        except Exception as exc:
            page = {"error": str(exc)}
        with open(self._probe_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(page) + "\n")


def _shell_class(gui: str) -> type[GuiShell] | None:
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


def _in_thread(action: Callable[..., None], *args: Any) -> None:
    """Window work for a notification's click, off the notifier's event loop (a script in the
    page waits for the GUI thread, which may be showing a dialog)."""
    threading.Thread(target=action, args=args, name="notification-click", daemon=True).start()


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def leave_after_window(code: int, grace: float = 5.0) -> NoReturn:
    """End the process with ``code`` once the window has closed and the server has stopped.

    Two things must not turn a clean close into a hang or a crash, so this runs after
    everything is saved and leaves without Python's interpreter teardown (``os._exit``):

    - a thread the GUI toolkit left waiting (see ``pywebview_internals``) would keep the
      process alive forever: other non-daemon threads get ``grace`` seconds, then a stray
      one is logged with its stack and left behind;
    - Qt WebEngine can crash while Python destroys its objects at exit ("Release of profile
      requested but WebEnginePage still not deleted": the page's deferred delete never ran
      because the event loop had ended); seen as SIGSEGV after a clean close under load.
    """
    deadline = time.monotonic() + grace
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not me and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    frames = sys._current_frames()
    for thread in threading.enumerate():
        if thread is me or thread.daemon or not thread.is_alive():
            continue
        frame = frames.get(thread.ident) if thread.ident is not None else None
        stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
        logger.warning(
            "thread %r still running at exit; leaving without it:\n%s", thread.name, stack
        )
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _app_wide_menu() -> bool:
    """Whether this backend takes its menu at ``webview.start`` (GTK) instead of per window."""
    from desktop import guicheck

    return sys.platform.startswith("linux") and guicheck.web_engine() == "gtk"


def _name_the_application() -> None:
    """Qt names the X11 window class after ``argv[0]`` ("__main__.py" under ``-m``); desktop
    files match on it (StartupWMClass=deskchat)."""
    import sys

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


def close_on_signals(close: Callable[[], None]) -> None:
    """SIGINT/SIGTERM close the window like its close button would; a small thread watches a
    socket and closes the window.

    Two ways reach that socket, one per toolkit. While Qt's loop runs, Python signal handlers
    only run when Qt calls back into Python, so a handler alone may wait forever: the C-level
    handler writes the signal number to the wake-up fd. PyGObject puts its own wake-up fd in
    place while GTK's loop runs (so that Python handlers run promptly) and ours never hears:
    there the Python handler (``desktop.shutdown``) writes to the socket itself.
    """
    import signal
    import socket

    from desktop import shutdown

    if threading.current_thread() is not threading.main_thread():
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    shutdown.install()
    shutdown.wake_on_request(writer)

    def watch() -> None:
        closed = False  # one signal can arrive both ways (Qt): close once
        with reader:
            while reader.recv(1):
                if closed:
                    continue
                logger.info("signal received: closing the window")
                try:
                    close()
                    closed = True
                except Exception:
                    logger.debug("close on signal failed", exc_info=True)

    watch_thread = threading.Thread(target=watch, name="signals", daemon=True)
    watch_thread.start()
    # Keep the writer alive as long as the process (the wake-up fd must stay valid).
    close_on_signals.writer = writer  # type: ignore[attr-defined]
