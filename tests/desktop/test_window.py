"""The real window under Xvfb: first run, automatic sign-in, second launch, clean close."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from chatserver import tls
from tests.desktop.launcher import (
    ENGINES,
    App,
    free_port,
    port_open,
    require_engine,
    see_on_screen,
    type_into_window,
    window_env,
)
from tests.support.server import ROOT, start_live_server

pytestmark = [pytest.mark.window, pytest.mark.process]

PASSWORD = "correct-horse-battery"


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """Qt WebEngine (the tarball's) and the system's WebKitGTK (the .deb's)."""
    require_engine(request.param)
    return request.param


def test_first_run_sign_up_then_automatic_sign_in(display, tmp_path, engine):
    data = tmp_path / "data"
    env = window_env(display, engine=engine)
    app = App.launch(data, env)
    try:
        app.wait_control()
        # Fresh install: the launcher's own one-screen "create your account" form.
        page = app.wait_page(lambda p: "Create your account" in p["text"])
        assert page["title"] == "Deskchat"
        see_on_screen(display, f"window-first-run-{engine}.png", "Create your account")

        # The first screen also offers to join someone else's chat instead, and back.
        app.eval("document.getElementById('join-link').click(); 'ok'")
        app.wait_page(lambda p: "Join a chat on this network" in p["text"] and "Back" in p["text"])
        app.eval("document.getElementById('back').click(); 'ok'")
        app.wait_page(lambda p: "Create your account" in p["text"])

        # Typed into the window like a person (the username field has focus).
        app.eval("document.getElementById('username').focus(); 'ok'")
        type_into_window(display, "alice", "<Tab>", PASSWORD, "<Tab>", PASSWORD, "<Return>")
        # Signed in and connected: the screen shows the chat, not "Connecting…".
        page = app.wait_page(lambda p: p["user"] == "alice" and p["state"] == "connected")
        assert page["title"].startswith("Deskchat") or "Deskchat" in page["title"]
        assert page["url"].startswith(app.url)
        assert "token=" not in page["url"]
        see_on_screen(
            display,
            f"window-signed-in-{engine}.png",
            "ROOMS",
            "DIRECT MESSAGES",
            "alice",
            absent=("Connecting",),
        )

        # A second launch on the same data folder hands over to the first and exits.
        second = subprocess.run(
            [sys.executable, "-m", "desktop", "--data-dir", str(data)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert "already open" in second.stderr
        log = (data / "logs" / "deskchat.log").read_text()
        assert "another launch asked to show the window" in log

        port = int(app.url.rsplit(":", 1)[1].strip("/"))
        assert app.close() == 0
        assert not port_open(port)
        assert not (data / "instance.json").exists()
    finally:
        app.kill()

    # Next launch: straight into the chat as the desktop's own user, no password typed.
    again = App.launch(data, env)
    try:
        again.wait_control()
        page = again.wait_page(lambda p: p["user"] is not None)
        assert page["user"] == "alice"
        assert again.close() == 0
    finally:
        again.kill()


def test_first_run_page_speaks_the_session_language(display, tmp_path, engine):
    """The launcher's pages follow the desktop session's locale (LANG), like its menus."""
    env = window_env(
        display, engine=engine, LANG="ru_RU.UTF-8", LANGUAGE="", LC_ALL="", LC_MESSAGES=""
    )
    app = App.launch(tmp_path / "data", env)
    try:
        app.wait_control()
        page = app.wait_page(lambda p: "Создайте учётную запись" in p["text"])
        assert "Зарегистрироваться" in page["text"]  # the button, as on the chat's sign-up
        assert "Create your account" not in page["text"]
        assert app.eval("document.documentElement.lang") == "ru"
        # The chat's stylesheet is in the page: its card and its accent-coloured button.
        button = app.eval("getComputedStyle(document.getElementById('submit')).backgroundColor")
        assert button == "rgb(37, 99, 235)"  # app.css --accent
        seen = see_on_screen(
            display, f"window-first-run-ru-{engine}.png", "Создайте учётную запись", lang="rus+eng"
        )
        assert "Create your account" not in seen
        assert app.close() == 0
    finally:
        app.kill()


def test_sigterm_closes_the_window_cleanly(display, tmp_path, engine):
    app = App.launch(tmp_path / "data", window_env(display, engine=engine))
    try:
        app.wait_control()
        app.wait_page(lambda p: "Create your account" in p["text"])
        port = int(app.url.rsplit(":", 1)[1].strip("/"))
        assert app.terminate() == 0
        assert not port_open(port)
    finally:
        app.kill()


def test_no_display_falls_back_to_headless(tmp_path):
    # webbrowser.open runs `true` instead of a real browser.
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": "true"}
    server = start_live_server(tmp_path / "data", headless=False, env=env)
    assert server.url.startswith("http://127.0.0.1:")
    assert server.stop() == 0
    lines = [line for line in server.stderr().splitlines() if line.strip()]
    assert lines == [
        "deskchat: cannot open a window: no display (DISPLAY and WAYLAND_DISPLAY are not set). "
        "Serving in the browser instead."
    ]


@pytest.mark.server_errors("start-up failed: cannot listen on", "Listen failure", exit_code=2)
def test_start_up_error_is_shown_in_a_window(display, tmp_path, engine):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = window_env(display, engine=engine)
        app = App.launch(tmp_path / "data", env, "--port", str(port))
        try:
            # What the person reads: the error in words, where to look, a way out.
            see_on_screen(
                display,
                f"window-start-error-{engine}.png",
                "could not start",
                f"cannot listen on 127.0.0.1:{port}",
                "Close",
                timeout=60,
            )
            assert app.terminate() == 2  # closes the error window like its Close button
        finally:
            app.kill()
    console = app.console()
    assert f"deskchat: cannot listen on 127.0.0.1:{port}" in console
    assert "Traceback" not in console


def test_join_window_lists_and_opens_a_server_on_the_network(display, tmp_path, engine):
    """The server shares over HTTPS with its own CA: the join window checks the announced
    fingerprint, pins it, and opens the chat with no certificate warning. The same server name
    answering later with another certificate (its CA made anew) is refused in words."""
    port = free_port()
    env = window_env(display, engine=engine)
    server_env = {"DESKCHAT_MDNS_INTERFACES": env["DESKCHAT_MDNS_INTERFACES"]}
    server = start_live_server(
        tmp_path / "host", args=["--lan", "--port", str(port)], env=server_env
    )
    target = f"https://127.0.0.1:{port}/"
    fingerprint = tls.ca_fingerprint(tmp_path / "host")
    app = App.launch(tmp_path / "joiner", env, "--join")
    try:
        app.wait_control(name="join-window.json")
        page = app.wait_page(lambda p: target in p["text"])
        assert "Join a chat on this network" in page["text"]
        see_on_screen(display, f"window-join-{engine}.png", "Join a chat on this network", target)
        choose_server(app, target)
        page = app.wait_page(lambda p: p["url"].startswith(target))
        # The other server's own page: log-in, or sign-up on a server with no account yet.
        assert urlsplit(page["url"]).path in {"/accounts/login/", "/accounts/signup/"}
        assert app.eval("String(window.isSecureContext)") == "true"
        pins = json.loads((tmp_path / "joiner" / "pinned-servers.json").read_text())
        assert list(pins.values()) == [fingerprint]
        assert app.close() == 0
    finally:
        app.kill()
        assert server.stop() == 0

    # The host's CA is replaced (or someone else answers in its name): a new fingerprint.
    shutil.rmtree(tmp_path / "host" / "tls")
    server = start_live_server(
        tmp_path / "host", args=["--lan", "--port", str(port)], env=server_env
    )
    assert tls.ca_fingerprint(tmp_path / "host") != fingerprint
    app = App.launch(tmp_path / "joiner", env, "--join")
    try:
        app.wait_control(name="join-window.json")
        app.wait_page(lambda p: target in p["text"])
        choose_server(app, target)
        page = app.wait_page(lambda p: "has changed since you last joined" in p["text"])
        assert not page["url"].startswith(target)
        see_on_screen(
            display, f"window-join-refused-{engine}.png", "has changed since you last joined"
        )
        assert app.close() == 0
    finally:
        app.kill()
        assert server.stop() == 0


def test_join_link_opens_the_pinned_server_in_the_window(display, tmp_path, engine):
    """``--join LINK`` (the sharing panel's link, fingerprint after ``#``): the window opens
    that chat over https, no warning, no browsing."""
    from desktop import pinning

    port = free_port()
    env = window_env(display, engine=engine)
    server = start_live_server(
        tmp_path / "host",
        args=["--lan", "--port", str(port)],
        env={"DESKCHAT_MDNS_INTERFACES": env["DESKCHAT_MDNS_INTERFACES"]},
    )
    fingerprint = tls.ca_fingerprint(tmp_path / "host")
    link = f"https://127.0.0.1:{port}/trust/#{pinning.link_fragment(fingerprint)}"
    app = App.launch(tmp_path / "joiner", env, "--join", link)
    try:
        app.wait_control(name="join-window.json")
        page = app.wait_page(lambda p: p["url"].startswith(f"https://127.0.0.1:{port}/accounts/"))
        assert urlsplit(page["url"]).path in {"/accounts/login/", "/accounts/signup/"}
        assert app.eval("String(window.isSecureContext)") == "true"
        assert app.close() == 0
    finally:
        app.kill()
        assert server.stop() == 0


def choose_server(app: App, url: str, timeout: float = 60) -> None:
    """Click ``url`` in the join page's list. Other Deskchats may be announcing on this
    machine too (the list is live and may briefly lose an entry while they come and go):
    wait until ours is there to click."""
    script = (
        f"(() => {{ const item = document.querySelector('#servers li[data-url=\"{url}\"]');"
        " if (!item) return 'missing'; item.click(); return 'ok'; })()"
    )
    deadline = time.monotonic() + timeout
    while app.eval(script) != "ok":
        assert time.monotonic() < deadline, f"{url} never listed to choose"
        time.sleep(0.2)


@pytest.mark.parametrize("moment", ["handler", "lock", "control"])
def test_sigterm_while_the_window_starts_stops_cleanly(display, tmp_path, engine, moment):
    """A stop while starting (desktop/shutdown.py): no window is left waiting, exit 0, the
    data folder unlocked, and the next launch opens."""
    from tests.support.stopping import catches_sigterm, lock_is_free, opened_lock

    data = tmp_path / "data"
    env = window_env(display, engine=engine)
    app = App.launch(data, env)
    try:
        sign = {"handler": catches_sigterm, "lock": opened_lock}.get(moment)
        if sign is None:
            app.wait_control()  # published just before the GUI loop starts
        else:
            while not sign(app.process.pid):
                assert app.process.poll() is None, app.console()
                time.sleep(0.001)  # polling /proc for the sign, not waiting for nothing
        assert app.terminate() == 0
        assert lock_is_free(data)
        assert not (data / "instance.json").exists()
    finally:
        app.kill()
    again = App.launch(data, env)
    try:
        again.wait_control()
        again.wait_page(lambda p: "Create your account" in p["text"])
        assert again.close() == 0
    finally:
        again.kill()
