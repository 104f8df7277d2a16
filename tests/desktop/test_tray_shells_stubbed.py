"""The Cocoa and WinForms shells' own code, run on Linux against stand-ins for their toolkits.

Neither AppKit (pyobjc) nor WinForms (pythonnet) exists here, and no Mac or Windows machine
ran these shells (docs/packaging.md). The stand-ins below have only the members the shells
use, written from Apple's and Microsoft's documentation: this checks the shells' own logic
(the menu drawn in order, check marks, clicks reaching the launcher, the badge's life cycle),
not that the real toolkits behave as documented.
"""

from __future__ import annotations

import queue
import sys
import threading
import types

import pytest

from desktop import cocoa_shell, winforms_shell
from desktop.tray import TrayMenu
from tests.desktop.tray_menu import recording_menu


def spec(record: list) -> TrayMenu:
    long = "Deskchat: a tooltip long enough to be cut for the Windows notification area"
    return recording_menu(record, tooltip=long)


def install(monkeypatch, name: str, **members) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(members)
    monkeypatch.setitem(sys.modules, name, module)
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        monkeypatch.setattr(sys.modules[parent], child, module, raising=False)
    return module


# --- Cocoa -------------------------------------------------------------------------------------


class NSObject:
    @classmethod
    def alloc(cls):
        return cls()

    def init(self):
        return self


class NSMenu(NSObject):
    def init(self):
        self.items, self.autoenables = [], True
        return self

    def setAutoenablesItems_(self, on):
        self.autoenables = on

    def addItem_(self, item):
        self.items.append(item)


class NSMenuItem(NSObject):
    separator = False

    @classmethod
    def separatorItem(cls):
        item = cls()
        item.separator = True
        return item

    def initWithTitle_action_keyEquivalent_(self, title, action, key):
        self.title, self.action, self._state, self._object = title, action, 0, None
        return self

    def setTarget_(self, target):
        self.target = target

    def setRepresentedObject_(self, value):
        self._object = value

    def representedObject(self):
        return self._object

    def setState_(self, state):
        self._state = state

    def state(self):
        return self._state

    def choose(self):
        """What AppKit does when the person picks it: send the action to the target."""
        assert self.action == "chosen:"
        self.target.chosen_(self)


class Button:
    image = title = tooltip = None

    def setImage_(self, image):
        self.image = image

    def setTitle_(self, title):
        self.title = title

    def setToolTip_(self, text):
        self.tooltip = text


class NSStatusItem:
    def __init__(self, length):
        self.length, self._button, self.menu = length, Button(), None

    def button(self):
        return self._button

    def setMenu_(self, menu):
        self.menu = menu


class NSStatusBar:
    items: list = []

    @classmethod
    def systemStatusBar(cls):
        return cls()

    def statusItemWithLength_(self, length):
        item = NSStatusItem(length)
        NSStatusBar.items.append(item)
        return item


class NSImage(NSObject):
    def initWithContentsOfFile_(self, path):
        self.path, self.size = path, None
        return self

    def setSize_(self, size):
        self.size = size


class DockTile:
    label = "unset"

    def setBadgeLabel_(self, label):
        self.label = label


class NSApplication:
    app = None

    @classmethod
    def sharedApplication(cls):
        if cls.app is None:
            cls.app = cls()
            cls.app.tile, cls.app.activated = DockTile(), False
        return cls.app

    def dockTile(self):
        return self.tile

    def activateIgnoringOtherApps_(self, flag):
        self.activated = flag


class NSAlert(NSObject):
    answer = 1000  # NSAlertFirstButtonReturn

    def init(self):
        self.buttons, self.text, self.info = [], None, None
        NSAlert.last = self
        return self

    def setMessageText_(self, text):
        self.text = text

    def setInformativeText_(self, text):
        self.info = text

    def addButtonWithTitle_(self, title):
        self.buttons.append(title)

    def runModal(self):
        return NSAlert.answer


@pytest.fixture
def appkit(monkeypatch):
    NSStatusBar.items = []
    NSApplication.app = None
    module = install(
        monkeypatch,
        "AppKit",
        NSObject=NSObject,
        NSMenu=NSMenu,
        NSMenuItem=NSMenuItem,
        NSStatusBar=NSStatusBar,
        NSImage=NSImage,
        NSApplication=NSApplication,
        NSAlert=NSAlert,
        NSVariableStatusItemLength=-1.0,
        NSControlStateValueOn=1,
        NSControlStateValueOff=0,
        NSAlertFirstButtonReturn=1000,
    )
    install(monkeypatch, "PyObjCTools")
    install(monkeypatch, "PyObjCTools.AppHelper", callAfter=lambda job: job())
    monkeypatch.setattr(cocoa_shell, "_target_class", None)
    monkeypatch.setattr(cocoa_shell, "_handlers", {})
    return module


def test_cocoa_menu_bar_icon_menu_checks_and_dock_badge(appkit, tmp_path):
    record: list = []
    shell = cocoa_shell.CocoaShell()
    assert shell.show_tray(str(tmp_path / "icon.png"), spec(record), sharing=True, autostart=False)
    assert shell.show_tray(None, spec(record), sharing=True, autostart=False)  # once only
    assert len(NSStatusBar.items) == 1 and shell.tray_shown()
    status = NSStatusBar.items[0]
    assert status.button().image.size == (18.0, 18.0)
    menu = status.menu
    assert not menu.autoenables
    assert [None if i.separator else i.title for i in menu.items] == [
        "Open Deskchat",
        None,
        "Share on the network",
        "Start Deskchat when I log in",
        None,
        "Quit",
    ]
    assert [i.state() for i in menu.items if not i.separator] == [0, 1, 0, 0]

    opened, _, share, autostart, _, quit_ = menu.items
    share.choose()  # AppKit does not toggle a mark by itself: the shell does
    autostart.choose()
    opened.choose()
    assert record == [("share", False), ("autostart", True), "open"]
    assert (share.state(), autostart.state()) == (0, 1)
    shell.set_checks(sharing=True, autostart=False)  # the launcher's word: no action runs
    assert (share.state(), autostart.state()) == (1, 0)
    quit_.choose()
    assert record[-1] == "quit"

    shell.set_badge(3)
    assert NSApplication.sharedApplication().dockTile().label == "3"
    shell.set_badge(0)
    assert NSApplication.sharedApplication().dockTile().label is None
    shell.show_message("Deskchat is still running", "Others can keep chatting.")
    assert status.button().tooltip == "Deskchat is still running\nOthers can keep chatting."
    assert shell.ask("Quit Deskchat?", "2 people are connected.", "Quit", "Keep running")
    assert NSAlert.last.buttons == ["Quit", "Keep running"]
    assert NSApplication.sharedApplication().activated
    NSAlert.answer = 1001
    try:
        assert not shell.ask("Quit Deskchat?", "2 people are connected.", "Quit", "Keep running")
    finally:
        NSAlert.answer = 1000


# --- WinForms ----------------------------------------------------------------------------------


class Event:
    """A .NET event as pythonnet shows it: ``+=`` adds a handler."""

    def __init__(self):
        self.handlers = []

    def __iadd__(self, handler):
        self.handlers.append(handler)
        return self

    def fire(self, sender, args=None):
        for handler in self.handlers:
            handler(sender, args)


class Handle:
    def __init__(self, value):
        self.value = value

    def ToInt64(self):
        return self.value


class Control:
    """The shell's hidden control; a call from another thread is posted to the test's queue."""

    posted: queue.Queue = queue.Queue()

    def __init__(self):
        self.Handle = Handle(1)
        self.InvokeRequired = False

    def BeginInvoke(self, delegate):
        Control.posted.put(delegate)


class Items(list):
    def Add(self, item):
        self.append(item)


class ContextMenuStrip:
    def __init__(self):
        self.Items = Items()


class ToolStripSeparator:
    pass


class ToolStripMenuItem:
    def __init__(self, text):
        self.Text, self.CheckOnClick, self._checked = text, False, False
        self.Click, self.CheckedChanged = Event(), Event()

    @property
    def Checked(self):
        return self._checked

    @Checked.setter
    def Checked(self, value):
        changed = value != self._checked
        self._checked = value
        if changed:
            self.CheckedChanged.fire(self)

    def PerformClick(self):
        """What WinForms does on a click: toggle first (CheckOnClick), then Click."""
        if self.CheckOnClick:
            self.Checked = not self.Checked
        self.Click.fire(self)


class NotifyIcon:
    made: list = []

    def __init__(self):
        self.Icon = self.Text = self.ContextMenuStrip = None
        self.Visible, self.disposed, self.balloons = False, False, []
        self.MouseClick = Event()
        NotifyIcon.made.append(self)

    def ShowBalloonTip(self, ms, title, text, icon):
        self.balloons.append((title, text))

    def Dispose(self):
        self.disposed = True


class Application:
    ApplicationExit = Event()


class Form:
    def __init__(self):
        self.Handle, self.Visible, self.VisibleChanged = Handle(4242), True, Event()


class Taskbar:
    calls: list = []

    def set_overlay_icon(self, hwnd, icon, description):
        Taskbar.calls.append((hwnd, icon, description))


@pytest.fixture
def winforms(monkeypatch):
    NotifyIcon.made = []
    Taskbar.calls = []
    Control.posted = queue.Queue()
    Application.ApplicationExit = Event()
    enum = types.SimpleNamespace
    install(monkeypatch, "clr", AddReference=lambda name: None)
    delegates = {object: lambda job: job}
    install(monkeypatch, "System", Func=delegates, Type=object)
    install(monkeypatch, "System.Drawing", SystemIcons=enum(Application="app-icon"))
    install(monkeypatch, "System.Windows")
    install(
        monkeypatch,
        "System.Windows.Forms",
        Control=Control,
        ContextMenuStrip=ContextMenuStrip,
        ToolStripSeparator=ToolStripSeparator,
        ToolStripMenuItem=ToolStripMenuItem,
        NotifyIcon=NotifyIcon,
        Application=Application,
        MouseButtons=enum(Left="left", Right="right"),
        ToolTipIcon=enum(Info="info"),
    )
    icons = iter(range(100, 200))
    destroyed: list = []
    monkeypatch.setattr(winforms_shell, "TaskbarList", Taskbar)
    monkeypatch.setattr(
        winforms_shell.WinFormsShell, "_badge_icon", staticmethod(lambda count: next(icons))
    )
    monkeypatch.setattr(winforms_shell, "destroy_icon", destroyed.append)
    return destroyed


def test_winforms_notify_icon_menu_checks_and_taskbar_overlay(winforms):
    destroyed = winforms
    record: list = []
    form = Form()
    shell = winforms_shell.WinFormsShell(window=types.SimpleNamespace(native=form))
    assert shell.show_tray(None, spec(record), sharing=False, autostart=True)
    assert shell.show_tray(None, spec(record), sharing=False, autostart=True)  # once only
    (tray,) = NotifyIcon.made
    assert tray.Visible and tray.Icon == "app-icon" and shell.tray_shown()
    assert len(tray.Text) == 63  # NotifyIcon refuses more
    items = tray.ContextMenuStrip.Items
    assert [getattr(i, "Text", None) for i in items] == [
        "Open Deskchat",
        None,
        "Share on the network",
        "Start Deskchat when I log in",
        None,
        "Quit",
    ]
    opened, _, share, autostart, _, quit_ = items
    assert (share.CheckOnClick, share.Checked, autostart.Checked) == (True, False, True)
    share.PerformClick()
    autostart.PerformClick()
    opened.PerformClick()
    tray.MouseClick.fire(tray, types.SimpleNamespace(Button="right"))  # the menu, not open
    tray.MouseClick.fire(tray, types.SimpleNamespace(Button="left"))
    assert record == [("share", True), ("autostart", False), "open", "open"]
    shell.set_checks(sharing=False)  # fires CheckedChanged, which must not reach the launcher
    assert share.Checked is False and len(record) == 4
    quit_.PerformClick()
    assert record[-1] == "quit"

    shell.set_badge(2)
    shell.set_badge(5)
    assert Taskbar.calls == [(4242, 100, "2"), (4242, 101, "5")]
    assert destroyed == [100]  # the icon it replaced
    form.Visible = False  # hidden to the tray: no taskbar button to put a count on
    form.VisibleChanged.fire(form)
    shell.set_badge(7)
    assert len(Taskbar.calls) == 2
    form.Visible = True  # back: the count that came meanwhile goes on the new button
    form.VisibleChanged.fire(form)
    assert Taskbar.calls[-1] == (4242, 102, "7")
    shell.set_badge(0)
    assert Taskbar.calls[-1] == (4242, None, "") and destroyed == [100, 101, 102]

    shell.show_message("Deskchat is still running", "Others can keep chatting.")
    assert tray.balloons == [("Deskchat is still running", "Others can keep chatting.")]

    # From another thread (pywebview's js_api): queued on the GUI thread, the caller waits.
    shell._marshal.InvokeRequired = True
    caller = threading.Thread(target=shell.set_tooltip, args=("(3) Deskchat",))
    caller.start()
    job = Control.posted.get(timeout=10)
    assert tray.Text != "(3) Deskchat"  # not run on the caller's thread
    job()  # the GUI thread's loop runs it
    caller.join(10)
    assert not caller.is_alive() and tray.Text == "(3) Deskchat"
    shell._marshal.InvokeRequired = False

    Application.ApplicationExit.fire(None)  # the icon leaves the notification area at exit
    assert tray.disposed and not tray.Visible
