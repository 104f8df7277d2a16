"""Issue 17, the launcher's side, in the real window under Xvfb.

A real system tray (Debian's ``trayer``) and a real notification service on a private session
bus (``session_bus.NotificationRecorder``, an org.freedesktop.Notifications service): the chat
page's ``window.pywebview.api.notify`` arrives as a desktop notification, a click on it brings
the hidden window back on the conversation, the unread count reaches the window title and the
taskbar badge, closing a sharing host hides it to the tray while it keeps serving, the tray
menu switches sharing and the log-in entry, and its Quit ends the process cleanly.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from chatserver.paths import app_icon
from tests.desktop.launcher import (
    ARTIFACTS,
    ENGINES,
    App,
    free_port,
    port_open,
    require_engine,
    see_on_screen,
    window_env,
)
from tests.desktop.session_bus import (
    NotificationRecorder,
    start_session_bus,
    start_tray_host,
)
from tests.desktop.test_lan import create_account_in_window
from tests.support.server import Browserless
from tests.support.tools import require_executable

pytestmark = [pytest.mark.window, pytest.mark.process]

STILL_RUNNING = "Deskchat is still running"


class Session:
    """The desktop around the app: a session bus, a notification service, maybe a tray."""

    def __init__(self, display: str, *, tray: bool, engine: str = "qt") -> None:
        self.display = display
        self.engine = engine
        self.bus, self.address = start_session_bus()
        self.recorder = NotificationRecorder(self.address)
        self.tray = start_tray_host(display) if tray else None
        if self.tray is not None:
            xdotool("search", "--sync", "--name", "^panel$", display=display)

    def env(self, config: Path) -> dict:
        return window_env(
            self.display,
            engine=self.engine,
            DBUS_SESSION_BUS_ADDRESS=self.address,
            XDG_CONFIG_HOME=str(config),
        )

    def close(self) -> None:
        if self.tray is not None:
            self.tray.terminate()
            self.tray.wait(10)
        self.recorder.close()
        self.bus.terminate()
        self.bus.wait(10)


@pytest.fixture
def with_tray(display):
    session = Session(display, tray=True)
    yield session
    session.close()


@pytest.fixture
def without_tray(display):
    session = Session(display, tray=False)
    yield session
    session.close()


# --- driving the desktop ----------------------------------------------------------------------


def xdotool(*args: str, display: str, check: bool = True) -> subprocess.CompletedProcess:
    tool = require_executable("xdotool", "apt-get install xdotool")
    return subprocess.run(
        [tool, *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=30,
        check=check,
    )


def window_visible(display: str, title: str = r"^(\([0-9]+\) )?Deskchat$") -> bool:
    """Whether a window of that title is mapped (a window hidden to the tray is not). GTK's
    tray icon is a small mapped window with the application's title too: only a window of a
    window's size counts. xdotool's patterns are POSIX: no ``\\d``."""
    found = xdotool("search", "--onlyvisible", "--name", title, display=display, check=False)
    for window in found.stdout.split():
        geometry = xdotool("getwindowgeometry", window, display=display, check=False).stdout
        size = re.search(r"Geometry: (\d+)x(\d+)", geometry)
        if size and int(size.group(1)) >= 200 and int(size.group(2)) >= 150:
            return True
    return False


def wait_until(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def tray_icon(display: str) -> tuple[int, int, int, int]:
    """The app's icon window inside trayer's panel, as x, y, width, height on the screen."""
    xwininfo = require_executable("xwininfo", "apt-get install x11-utils")

    def find():
        tree = subprocess.run(
            [xwininfo, "-root", "-tree"],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        panel = tree[tree.find('"panel"') :] if '"panel"' in tree else ""
        found = re.search(
            r'"deskchat": \("deskchat" "deskchat"\)\s+(\d+)x(\d+)\S*\s+\+(-?\d+)\+(-?\d+)', panel
        )
        if not found:
            return None
        width, height, x, y = map(int, found.groups())
        return (x, y, width, height)

    return wait_until(find, "the Deskchat icon in the tray")


def open_tray_menu(display: str, shot: str | None = None) -> None:
    """A right click on the tray icon, as a person opens its menu; waits until it shows.

    A click that comes within the double-click time of the previous one (the menu before
    was just used) is a double click, which opens no menu: then, like a person, click again.
    """
    x, y, width, height = tray_icon(display)
    for _attempt in range(5):
        xdotool(
            "mousemove", str(x + width // 2), str(y + height // 2), "click", "3", display=display
        )
        try:
            wait_until(lambda: menu_open(display), "the tray menu", timeout=3)
        except AssertionError:
            continue
        break
    else:
        raise AssertionError(f"the tray menu did not open ({grab(display, 'tray-no-menu.png')})")
    if shot:
        see_on_screen(
            display, shot, "Open Deskchat", "Share on the network", "when I log in", "Quit"
        )


def menu_open(display: str) -> bool:
    """The tray menu is Qt's popup: a mapped Deskchat window just under the tray."""
    found = xdotool(
        "search", "--onlyvisible", "--classname", "deskchat", display=display, check=False
    )
    for window in found.stdout.split():
        geometry = xdotool("getwindowgeometry", "--shell", window, display=display).stdout
        values = dict(line.split("=", 1) for line in geometry.split())
        if int(values["Y"]) < 60 and int(values["WIDTH"]) > 100 and int(values["HEIGHT"]) > 60:
            return True
    return False


def choose_in_menu(display: str, *keys: str) -> None:
    """Keys in the open menu: Down/Up move through the items (Up first wraps to Quit)."""
    for key in keys:
        xdotool("key", key, display=display)
    xdotool("key", "Return", display=display)


def page_call(app: App, script: str) -> object:
    """Run ``script`` (an expression giving a promise) in the chat page; its resolved value.

    The page's text can show before pywebview has injected its bridge: wait for the API."""
    wait_until(
        lambda: app.eval(
            "!!(window.pywebview && window.pywebview.api"
            " && typeof window.pywebview.api.notify === 'function')"
        ),
        "pywebview's API in the page",
    )
    app.eval(
        "window.__answer = undefined;"
        f" Promise.resolve({script}).then(function (r) {{ window.__answer = JSON.stringify(r); }},"
        " function (e) { window.__answer = JSON.stringify({thrown: String(e)}); }); 'ok'"
    )
    answer = wait_until(
        lambda: app.eval("window.__answer === undefined ? '' : window.__answer"),
        f"an answer to {script}",
    )
    return json.loads(answer)


def healthz(port: int, *, tls_of: App | None = None) -> int:
    """``/healthz`` on a port; ``tls_of``: over HTTPS, trusting that app's own CA (the LAN
    listener serves TLS by default, its certificate names 127.0.0.1 too)."""
    if tls_of is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        context = ssl.create_default_context(cafile=str(tls_of.data_dir / "tls" / "ca.crt"))
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    finally:
        connection.close()


def log_text(app: App) -> str:
    path = app.data_dir / "logs" / "deskchat.log"
    return path.read_text() if path.exists() else ""


def signed_in_host(session: Session, tmp_path: Path, *, lan_port: int | None = None) -> App:
    """The host's window, signed in to its chat as alice, its tray set up (or not)."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    if lan_port is not None:  # where "Share on the network" will listen
        (data / "desktop.json").write_text(json.dumps({"lan_port": lan_port}))
    app = App.launch(data, session.env(tmp_path / "config"))
    app.wait_control()
    app.wait_page(lambda p: "Create your account" in p["text"])
    create_account_in_window(app, "alice")
    app.wait_page(lambda p: p["user"] == "alice" and p["state"] == "connected")
    wait_until(lambda: "tray icon " in log_text(app), "the tray decision in the log")
    return app


def grab(display: str, name: str) -> Path:
    """The whole screen as it is (``screenshot`` waits for a painted window; here the
    window is hidden and the screen is the black root with the tray)."""
    tool = require_executable("import", "apt-get install imagemagick")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    subprocess.run(
        [tool, "-window", "root", str(path)],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=30,
    )
    return path


def blue_pixels(path: Path, box: tuple[int, int, int, int]) -> int:
    """Pixels of the icon's blue (the chat's accent, rgb(37, 99, 235)) inside ``box``."""
    convert = require_executable("convert", "apt-get install imagemagick")
    x, y, width, height = box
    dump = subprocess.run(
        [convert, str(path), "-crop", f"{width}x{height}+{x}+{y}", "+repage", "txt:-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    count = 0
    for found in re.finditer(r"\((\d+),(\d+),(\d+)", dump.split("\n", 1)[-1]):
        r, g, b = map(int, found.groups())
        count += abs(r - 37) < 40 and abs(g - 99) < 40 and abs(b - 235) < 40
    return count


# --- the tests --------------------------------------------------------------------------------


def test_notifications_badge_tray_and_quit(display, with_tray, tmp_path):
    session, recorder = with_tray, with_tray.recorder
    lan_port = free_port()
    app = signed_in_host(session, tmp_path, lan_port=lan_port)
    try:
        assert "tray icon shown" in log_text(app)
        local_port = int(app.url.rsplit(":", 1)[1].strip("/"))

        # The unread count: window title and the taskbar badge (Unity LauncherEntry).
        assert page_call(app, "window.pywebview.api.set_unread(3)") == {"ok": True}
        assert recorder.wait_badge(3)["app"] == "application://deskchat.desktop"
        wait_until(lambda: window_visible(display, r"^\(3\) Deskchat$"), "the title with (3)")
        assert page_call(app, "window.pywebview.api.set_unread(0)") == {"ok": True}
        assert recorder.wait_badge(0)
        wait_until(lambda: window_visible(display, "^Deskchat$"), "the title without a count")

        # What the page sends is checked: refusals say why, and nothing reaches the desktop.
        refused = page_call(
            app,
            "Promise.all(["
            "window.pywebview.api.notify({title: 'x', body: 'y'.repeat(1001),"
            " conversation: {room: 'general'}}),"
            "window.pywebview.api.notify({title: 'x', conversation: {evil: 'x'}}),"
            "window.pywebview.api.notify({title: 'x', conversation: {room: 'a', with: 'b'}}),"
            "window.pywebview.api.notify({title: 42, conversation: {room: 'general'}}),"
            "window.pywebview.api.notify({title: 'x', conversation: {room: 'general'},"
            " sound: 'yes'}),"
            "window.pywebview.api.notify('<b>not an object</b>'),"
            "window.pywebview.api.set_unread(true),"
            "window.pywebview.api.set_unread(-1),"
            "window.pywebview.api.set_unread('7')])",
        )
        assert [answer["ok"] for answer in refused] == [False] * 9
        assert refused[0]["error"] == "body is longer than 1000 characters"
        assert refused[3]["error"] == "title must be a string"
        assert refused[6]["error"] == "count must be a whole number"

        # Sharing on from the tray menu (its screenshot, read back as a person sees it).
        open_tray_menu(display, "tray-menu.png")
        choose_in_menu(display, "Down", "Down")  # Open Deskchat, Share on the network
        wait_until(lambda: port_open(lan_port), "the shared port")
        assert healthz(lan_port, tls_of=app) == 200

        # Closing the window of a sharing host hides it; the chat stays up.
        app.command("close")
        wait_until(lambda: not window_visible(display), "the window hidden")
        hint = recorder.wait_for(lambda s: s.summary == STILL_RUNNING, what="the tray hint")
        assert "tray" in hint.body
        assert app.process.poll() is None
        assert healthz(local_port) == 200 and healthz(lan_port, tls_of=app) == 200
        icon = tray_icon(display)
        wait_until(
            lambda: blue_pixels(grab(display, "tray-hidden-window.png"), icon) > 50,
            f"the icon drawn in the tray at {icon}",
        )
        assert json.loads((app.data_dir / "desktop.json").read_text())["tray_hint_shown"] is True

        # A notification from the page while the window is hidden, then a click on it.
        app.eval(
            "window.__opened = null; window.deskchat = window.deskchat || {};"
            " (function (real) { window.deskchat.openConversation = function (c) {"
            " window.__opened = c; if (real) { real(c); } }; })"
            "(window.deskchat.openConversation); 'ok'"
        )
        assert page_call(
            app,
            "window.pywebview.api.notify({title: 'bob', body: 'hi @alice',"
            " conversation: {with: 'bob'}, sound: true})",
        ) == {"ok": True}
        shown = recorder.wait_for(lambda s: s.summary == "bob")
        assert shown.body == "hi @alice"
        assert shown.app_name == "Deskchat"
        assert shown.app_icon == app_icon(256).resolve().as_uri()
        assert shown.hints.get("sound-name") == "message-new-instant"
        assert "default" in shown.actions  # a click on it is an action
        # The refused ones above never reached the desktop: only the hint came before.
        assert [s.summary for s in recorder.shown] == [STILL_RUNNING, "bob"]
        recorder.click(shown)
        wait_until(lambda: window_visible(display), "the window back after the click")
        opened = wait_until(
            lambda: (
                app.eval("JSON.stringify(window.__opened)") != "null"
                and app.eval("JSON.stringify(window.__opened)")
            ),
            "openConversation called",
        )
        assert json.loads(opened) == {"with": "bob"}

        # Closed again: hidden again, and the hint is not repeated.
        app.command("close")
        wait_until(lambda: not window_visible(display), "the window hidden again")
        assert page_call(
            app,
            "window.pywebview.api.notify({title: 'general', body: 'second',"
            " conversation: {room: 'general'}})",
        ) == {"ok": True}
        second = recorder.wait_for(lambda s: s.body == "second")
        assert "sound-name" not in second.hints
        assert [s.summary for s in recorder.shown].count(STILL_RUNNING) == 1

        # "Start Deskchat when I log in": the XDG autostart entry, written and removed.
        entry = tmp_path / "config" / "autostart" / "deskchat.desktop"
        open_tray_menu(display)
        choose_in_menu(display, "Down", "Down", "Down")
        wait_until(entry.exists, "the autostart entry")
        text = entry.read_text()
        assert "\nExec=" in text and f'"--data-dir" "{app.data_dir}"' in text
        assert "Type=Application" in text
        open_tray_menu(display)
        choose_in_menu(display, "Down", "Down", "Down")
        wait_until(lambda: not entry.exists(), "the autostart entry removed")

        # Quit from the tray: exit 0, both ports free, the instance record gone.
        open_tray_menu(display)
        choose_in_menu(display, "Up")
        assert app.wait_exit(60) == 0
        assert not port_open(local_port) and not port_open(lan_port)
        assert not (app.data_dir / "instance.json").exists()
    finally:
        app.kill()


def test_quit_with_people_connected_says_how_many_and_asks(display, with_tray, tmp_path):
    from websockets.sync.client import connect

    app = signed_in_host(with_tray, tmp_path)
    try:
        guest = Browserless(app.url)
        guest.signup("bob")
        ws_url = app.url.replace("http://", "ws://") + "ws/"
        with connect(ws_url, additional_headers=guest.ws_headers()) as ws:
            ws.recv(timeout=30)  # the hello: bob is connected
            # Not sharing, but someone is connected: closing hides instead of cutting them off.
            app.command("close")
            wait_until(lambda: not window_visible(display), "the window hidden")
            assert healthz(int(app.url.rsplit(":", 1)[1].strip("/"))) == 200

            open_tray_menu(display)
            choose_in_menu(display, "Up")
            see_on_screen(
                display,
                "tray-quit-question.png",
                "1 person is connected to your chat",
                "Quit anyway?",
            )
            xdotool("key", "Escape", display=display)  # Keep running
            wait_until(lambda: "quit cancelled: 1 people connected" in log_text(app), "the cancel")
            assert app.process.poll() is None

            open_tray_menu(display)
            choose_in_menu(display, "Up")
            see_on_screen(display, "tray-quit-question-2.png", "Quit anyway?")
            # The focus starts on "Keep running" (the default): Tab to "Quit" and press it.
            xdotool("key", "Tab", "space", display=display)
            assert app.wait_exit(60) == 0
    finally:
        app.kill()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_mention_from_a_colleague_reaches_the_desktop_while_the_window_is_hidden(
    display, tmp_path, engine
):
    """End to end, on both engines (the GTK build's tray is GTK's own): bob's messages go
    through the server to alice's hidden window, whose page (ui/static/js/notify.js) decides
    by her levels and hands the notification to the launcher; a click brings her window back
    on that conversation."""
    require_engine(engine)
    session = Session(display, tray=True, engine=engine)
    try:
        _mention_reaches_the_hidden_window(display, session, tmp_path)
    finally:
        session.close()


def _mention_reaches_the_hidden_window(display: str, with_tray: Session, tmp_path: Path) -> None:
    from websockets.sync.client import connect

    recorder = with_tray.recorder
    app = signed_in_host(with_tray, tmp_path)
    try:
        guest = Browserless(app.url)
        guest.signup("bob")
        ws_url = app.url.replace("http://", "ws://") + "ws/"
        with connect(ws_url, additional_headers=guest.ws_headers()) as ws:

            def send(frame: dict) -> None:
                ws.send(json.dumps(frame))
                while True:  # until the server acks this one
                    answer = json.loads(ws.recv(timeout=30))
                    if (
                        answer.get("type") == "ack"
                        and answer.get("client_id") == frame["client_id"]
                    ):
                        return

            ws.recv(timeout=30)  # hello
            # Someone is connected: closing hides the window (and the page loses its focus).
            app.command("close")
            wait_until(lambda: not window_visible(display), "the window hidden")
            recorder.wait_for(lambda s: s.summary == STILL_RUNNING, what="the tray hint")

            # In a room her level is "mentions": a plain line says nothing, a mention does.
            send({"type": "send", "room": "general", "body": "plain line", "client_id": "b1"})
            send({"type": "send", "room": "general", "body": "@alice look", "client_id": "b2"})
            mention = recorder.wait_for(lambda s: s.body == "@alice look", what="the mention")
            assert mention.summary == "bob in #general"
            # A direct message always notifies ("all" by default).
            send({"type": "send", "to": "alice", "body": "lunch?", "client_id": "b3"})
            direct = recorder.wait_for(lambda s: s.body == "lunch?", what="the direct message")
            assert direct.summary == "bob"
            # Both came after the plain line, which never reached the desktop.
            assert [s.body for s in recorder.shown if s.summary != STILL_RUNNING] == [
                "@alice look",
                "lunch?",
            ]

            recorder.click(direct)
            wait_until(lambda: window_visible(display), "the window back after the click")
            app.wait_page(lambda p: p["url"].endswith("/?dm=bob"))
        assert app.close() == 0
    finally:
        app.kill()


def test_without_a_tray_closing_quits_as_today(display, without_tray, tmp_path):
    lan_port = free_port()
    data = tmp_path / "data"
    app = App.launch(data, without_tray.env(tmp_path / "config"), "--lan", "--port", str(lan_port))
    try:
        app.wait_control()
        wait_until(lambda: "tray icon " in log_text(app), "the tray decision in the log")
        assert "tray icon not available: closing quits" in log_text(app)
        assert port_open(lan_port)  # sharing is on, and still

        # The bridge calls are for a chat page only: the launcher's first-run page gets none.
        app.wait_page(lambda p: "Create your account" in p["text"])
        not_chat = {"ok": False, "error": "not a chat page"}
        assert page_call(app, "window.pywebview.api.set_unread(2)") == not_chat
        assert (
            page_call(
                app,
                "window.pywebview.api.notify({title: 'x', conversation: {room: 'general'}})",
            )
            == not_chat
        )
        assert without_tray.recorder.shown == [] and without_tray.recorder.badges == []

        # "Start Deskchat when I log in" is in the sharing panel too (any backend, any tray).
        entry = tmp_path / "config" / "autostart" / "deskchat.desktop"
        app.wait_page(lambda p: "When you log in" in p["text"], window="sharing")
        assert app.eval("document.getElementById('autostart').checked", window="sharing") is False
        app.eval("document.getElementById('autostart').click(); 'ok'", window="sharing")
        wait_until(entry.exists, "the autostart entry")
        wait_until(
            lambda: app.eval(
                "!document.getElementById('autostart').disabled"
                " && document.getElementById('autostart').checked",
                window="sharing",
            ),
            "the switch on, as the panel's answer says",
        )
        app.eval("document.getElementById('autostart').click(); 'ok'", window="sharing")
        wait_until(lambda: not entry.exists(), "the autostart entry removed")

        assert app.close() == 0
        assert not port_open(lan_port)
    finally:
        app.kill()


def test_sigterm_quits_a_host_hidden_in_the_tray(display, with_tray, tmp_path):
    lan_port = free_port()
    app = App.launch(
        tmp_path / "data", with_tray.env(tmp_path / "config"), "--lan", "--port", str(lan_port)
    )
    try:
        app.wait_control()
        wait_until(lambda: "tray icon shown" in log_text(app), "the tray icon")
        app.wait_page(lambda p: "Create your account" in p["text"])
        app.command("close")  # sharing: hidden, not closed
        wait_until(lambda: not window_visible(display), "the window hidden")
        assert healthz(lan_port, tls_of=app) == 200
        assert app.terminate() == 0  # a session ending: quits, asks nothing
        assert not port_open(lan_port)
    finally:
        app.kill()
