"""The part of the tray that is the same on every toolkit (desktop/tray.py and
desktop/tray_lifecycle.py), without a GUI.

The Qt and GTK shells are tested on screen (test_tray.py, test_gtk_shell.py); the WinForms
and Cocoa shells cannot run here. What they all share runs here against a shell whose "GUI
thread" is a plain thread with a queue: the menu, the hand-off to the GUI thread, the
check marks, which shell a backend gets, and what the close button does with a tray.
"""

from __future__ import annotations

import queue
import threading
from types import SimpleNamespace

import pytest

from desktop.tray import Action, Check, GuiShell, Separator, menu_items
from desktop.tray_lifecycle import shell_class
from desktop.window import DesktopApp
from desktop.winforms_shell import GUID, badge_text
from tests.desktop.tray_menu import recording_menu

spec = recording_menu


class ThreadShell(GuiShell):
    """A shell whose GUI thread is a worker; its "items" are dicts, its tray a list."""

    def __init__(self) -> None:
        super().__init__(window=None)
        self.jobs: queue.Queue = queue.Queue()
        self.gui = threading.Thread(target=self._loop, name="fake-gui", daemon=True)
        self.gui.start()
        self.drawn: list | None = None
        self.tooltip = ""
        self.badge = 0

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            job()

    def stop(self) -> None:
        self.jobs.put(None)
        self.gui.join(5)

    def _on_gui_thread(self) -> bool:
        return threading.current_thread() is self.gui

    def _post(self, job) -> None:
        self.jobs.put(job)

    def _has_tray(self) -> bool:
        return self.drawn is not None

    def _show_tray(self, icon, menu, items) -> bool:
        assert self._on_gui_thread()
        self.drawn = []
        for item in items:
            entry = {"item": item, "checked": getattr(item, "checked", None)}
            if isinstance(item, Check):
                self._checks[item.name] = entry
            self.drawn.append(entry)
        return True

    def click(self, label: str) -> None:
        """What a toolkit does when the person chooses an item (on the GUI thread)."""

        def choose() -> None:
            entry = next(e for e in self.drawn if getattr(e["item"], "label", "") == label)
            item = entry["item"]
            if isinstance(item, Check):
                entry["checked"] = not entry["checked"]
                self._toggled(item, entry["checked"])
            else:
                self._chosen(item.run)

        self.call(choose)

    def tray_shown(self) -> bool:
        return self.drawn is not None

    def _set_checked(self, item, on: bool) -> None:
        item["checked"] = on
        # Like GTK's "toggled" and WinForms' CheckedChanged, setting the mark fires the handler.
        self._toggled(item["item"], on)

    def set_tooltip(self, text: str) -> None:
        self.call(lambda: setattr(self, "tooltip", text))

    def show_message(self, title: str, body: str) -> None:
        self.set_tooltip(f"{title}\n{body}")

    def ask(self, title, question, yes, no) -> bool:
        return True

    def set_badge(self, count: int) -> None:
        self.call(lambda: setattr(self, "badge", count))


@pytest.fixture
def shell():
    made = ThreadShell()
    yield made
    made.stop()


def test_the_menu_is_open_the_two_switches_and_quit():
    record: list = []
    items = menu_items(spec(record), sharing=True, autostart=False)
    assert [type(item) for item in items] == [Action, Separator, Check, Check, Separator, Action]
    assert [getattr(item, "label", "-") for item in items] == [
        "Open Deskchat",
        "-",
        "Share on the network",
        "Start Deskchat when I log in",
        "-",
        "Quit",
    ]
    assert [(item.name, item.checked) for item in items if isinstance(item, Check)] == [
        ("sharing", True),
        ("autostart", False),
    ]
    items[0].run()
    items[2].toggle(False)
    items[3].toggle(True)
    items[5].run()
    assert record == ["open", ("share", False), ("autostart", True), "quit"]


def test_calls_from_any_thread_run_on_the_gui_thread(shell):
    assert shell.call(lambda: threading.current_thread().name) == "fake-gui"
    with pytest.raises(ZeroDivisionError):
        shell.call(lambda: 1 / 0)  # the GUI thread's error, raised in the caller
    # On the GUI thread itself a call runs at once (a queued job would wait for itself).
    assert shell.call(lambda: shell.call(lambda: "inline")) == "inline"


def test_a_gui_thread_that_does_not_answer_is_a_timeout(shell):
    release = threading.Event()
    shell._post(release.wait)  # the GUI thread is busy
    try:
        with pytest.raises(TimeoutError):
            shell.call(lambda: None, timeout=0.2)
    finally:
        release.set()


def test_the_tray_is_made_once_and_only_the_persons_choices_reach_the_launcher(shell):
    record: list = []
    assert shell.show_tray(None, spec(record), sharing=False, autostart=False)
    first = shell.drawn
    assert shell.show_tray(None, spec(record), sharing=True, autostart=True)
    assert shell.drawn is first  # not made twice
    assert shell.tray_shown()

    shell.click("Share on the network")
    shell.click("Start Deskchat when I log in")
    shell.click("Open Deskchat")
    assert record == [("share", True), ("autostart", True), "open"]
    # The launcher makes the marks say what happened (sharing failed to start): no handler runs.
    shell.set_checks(sharing=False)
    assert [e["checked"] for e in shell.drawn if isinstance(e["item"], Check)] == [False, True]
    assert record == [("share", True), ("autostart", True), "open"]
    shell.click("Quit")
    assert record[-1] == "quit"


def test_a_failing_action_is_logged_and_the_menu_goes_on(shell, caplog):
    record: list = []
    menu = spec(record)
    menu.on_share = lambda on: 1 / 0
    shell.show_tray(None, menu, sharing=False, autostart=False)
    shell.click("Share on the network")  # raises nothing into the toolkit's loop
    assert "the tray menu's action failed" in caplog.text and "ZeroDivisionError" in caplog.text
    shell.click("Open Deskchat")
    assert record == ["open"]


def test_each_pywebview_backend_gets_its_shell():
    assert shell_class("webview.platforms.qt").__name__ == "QtShell"
    assert shell_class("webview.platforms.gtk").__name__ == "GtkShell"
    assert shell_class("webview.platforms.winforms").__name__ == "WinFormsShell"
    assert shell_class("webview.platforms.cocoa").__name__ == "CocoaShell"
    assert shell_class("webview.platforms.cef") is None
    assert shell_class("") is None


def test_the_taskbar_interfaces_guids_have_the_windows_layout():
    clsid = GUID.parse("56FDF344-FD6D-11d0-958A-006097C9A090")
    assert (clsid.Data1, clsid.Data2, clsid.Data3) == (0x56FDF344, 0xFD6D, 0x11D0)
    assert bytes(clsid.Data4) == bytes.fromhex("958A006097C9A090")
    assert badge_text(7) == "7" and badge_text(99) == "99" and badge_text(150) == "99+"


def closing_app(shell, *, lan_port, others):
    host = SimpleNamespace(
        server=object(),
        sharing=SimpleNamespace(lan_port=lan_port),
        account=SimpleNamespace(connected_others=lambda: others),
        prefs=SimpleNamespace(tray_hint_shown=True),
    )
    app = DesktopApp()
    app.host, app.tray.shell = host, shell
    app.window = SimpleNamespace(hidden=False, hide=lambda: setattr(app.window, "hidden", True))
    return app


@pytest.mark.parametrize(
    ("tray", "lan_port", "others", "hides"),
    [
        (True, 8443, 0, True),  # sharing on the network: keep serving
        (True, None, 2, True),  # people connected: keep serving
        (True, None, 0, False),  # nobody relies on this host: close
        (False, 8443, 2, False),  # no tray to come back from: close
    ],
)
def test_the_close_button_hides_to_the_tray_only_while_others_rely_on_the_host(
    shell, tray, lan_port, others, hides
):
    if tray:
        shell.show_tray(None, spec([]), sharing=lan_port is not None, autostart=False)
    app = closing_app(shell, lan_port=lan_port, others=others)
    answer = app.tray.on_closing()
    assert (answer is False) == hides  # False keeps the window (pywebview's closing event)
    assert app.window.hidden == hides
