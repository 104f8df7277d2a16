"""The installed .deb behaves like the source app: server, admin commands, chat, window."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import pytest
import websockets

from tests.support.server import Browserless, LiveServer, server_env, start_live_server
from tests.support.stopping import blocks_stop_signals

pytestmark = [pytest.mark.packaging, pytest.mark.process]

PASSWORD = "correct-horse-battery"


def installed_env(extra: dict | None = None) -> dict:
    """The test run's environment minus pytest-django's settings module (not in the bundle)."""
    env = server_env(extra)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def start_installed(binary: Path, data_dir: Path, timeout: float = 60) -> LiveServer:
    """``deskchat --headless --port 0 --data-dir DIR``; it prints its URL once /healthz answers.

    Started like every test server (tests/support/server.py): its stderr goes to a file (a
    pipe nobody reads would fill and stall it) and, with its log file, is checked after the
    test for tracebacks and ERROR lines, and its exit code for 0 (tests/support/health.py).
    """
    return start_live_server(
        data_dir, program=[str(binary)], environ=installed_env(), timeout=timeout
    )


def manage(binary: Path, data_dir: Path, *args: str, env: dict | None = None):
    return subprocess.run(
        [str(binary), "manage", *args, "--data-dir", str(data_dir)],
        env=installed_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def server(installed: Path, tmp_path):
    live = start_installed(installed, tmp_path / "data")
    yield live
    assert live.stop() == 0


def test_installed_files(installed: Path):
    # /usr/bin/deskchat → the launcher (build/linux/launcher.sh) → the frozen program.
    assert installed.resolve() == Path("/opt/deskchat/deskchat")
    assert installed.read_text().startswith("#!/usr/bin/env -S --block-signal=TERM,INT /bin/sh")
    assert Path("/opt/deskchat/deskchat-bin").read_bytes()[:4] == b"\x7fELF"
    entry = Path("/usr/share/applications/deskchat.desktop").read_text()
    assert "Exec=/usr/bin/deskchat" in entry and "Icon=deskchat" in entry
    assert Path("/usr/share/icons/hicolor/48x48/apps/deskchat.png").exists()


def test_health_and_first_account_page_with_its_css(server: LiveServer):
    client = Browserless(server.url)
    status, body = client.get("/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    # A fresh install has no account yet: log-in leads to creating the first one.
    status, page = client.get("/accounts/login/")
    assert status == 200
    assert 'name="csrfmiddlewaretoken"' in page and 'name="password1"' in page
    stylesheets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', page)
    stylesheets += re.findall(r'<link[^>]+href="([^"]+\.css[^"]*)"', page)
    assert stylesheets, page[:1000]
    with client.opener.open(server.url + stylesheets[0].lstrip("/"), timeout=10) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/css")
        assert len(reply.read()) > 100


def test_manage_migrate_and_createsuperuser(installed: Path, tmp_path):
    data = tmp_path / "data"
    migrated = manage(installed, data, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    created = manage(
        installed,
        data,
        "createsuperuser",
        "--noinput",
        env={
            "DJANGO_SUPERUSER_USERNAME": "boss",
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "DJANGO_SUPERUSER_EMAIL": "boss@example.com",
        },
    )
    assert created.returncode == 0, created.stderr
    assert "Superuser created" in created.stdout
    # The new admin can log in to the installed app's server on the same data folder.
    live = start_installed(installed, data)
    try:
        client = Browserless(live.url)
        assert client.login("boss", PASSWORD) == 200
        assert client.session_cookie()
    finally:
        assert live.stop() == 0


def test_websocket_send_ack_message_between_two_users(server: LiveServer):
    alice, bob = Browserless(server.url), Browserless(server.url)
    alice.signup("alice")
    bob.signup("bob")

    async def until(ws, kind: str) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if frame["type"] == kind:
                return frame

    async def chat() -> tuple[dict, dict]:
        async with (
            websockets.connect(server.ws_url, additional_headers=alice.ws_headers()) as a,
            websockets.connect(server.ws_url, additional_headers=bob.ws_headers()) as b,
        ):
            for ws in (a, b):
                await ws.send(json.dumps({"type": "join", "room": "general"}))
                await until(ws, "joined")
            await a.send(
                json.dumps(
                    {"type": "send", "room": "general", "body": "привет из .deb", "client_id": "p1"}
                )
            )
            return await until(a, "ack"), await until(b, "message")

    ack, message = asyncio.run(chat())
    assert ack["client_id"] == "p1"
    assert message["id"] == ack["id"]
    assert message["user"] == "alice" and message["body"] == "привет из .deb"


@pytest.mark.window
def test_installed_app_signs_up_and_chats_in_a_webkitgtk_window(installed: Path, tmp_path):
    """As a person: the menu's Deskchat opens a window on the system's WebKitGTK (the .deb
    bundles no engine), the first screen creates the account, and the chat shows."""
    import psutil

    from tests.desktop.launcher import (
        App,
        see_on_screen,
        start_xvfb,
        type_into_window,
        window_env,
    )

    xvfb, display = start_xvfb()
    data = tmp_path / "data"
    env = window_env(display)
    # What a desktop session has: no engine named, no test settings. The frozen app picks
    # the engine it was built with (build/pyi_rth_deskchat.py).
    for name in ("PYWEBVIEW_GUI", "QT_API", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    try:
        # Its console and log are health-checked after the test (App.launch).
        app = App.launch(data, env, program=[str(installed)])
        try:
            app.wait_control()
            page = app.wait_page(lambda p: "Create your account" in p["text"])
            assert page["title"] == "Deskchat"
            agent = app.eval("navigator.userAgent")
            assert "AppleWebKit" in agent and "Chrome" not in agent, agent  # not Chromium/Qt
            main = psutil.Process(app.process.pid)
            children = main.children(True)
            engine = {child.name() for child in children}
            assert "WebKitWebProcess" in engine, engine
            # The launcher blocked SIGTERM/SIGINT until the app's handlers took over; neither
            # the app nor the engine processes it started keep them blocked.
            held = [p.name() for p in [main, *children] if blocks_stop_signals(p.pid)]
            assert not held, held
            see_on_screen(display, "packaged-window-first-run.png", "Create your account")

            app.eval("document.getElementById('username').focus(); 'ok'")
            type_into_window(display, "dora", "<Tab>", PASSWORD, "<Tab>", PASSWORD, "<Return>")
            page = app.wait_page(lambda p: p["user"] == "dora" and p["state"] == "connected")
            assert page["url"].startswith(app.url) and "token=" not in page["url"]
            see_on_screen(
                display,
                "packaged-window-signed-in.png",
                "ROOMS",
                "DIRECT MESSAGES",
                "dora",
                absent=("Connecting",),
            )
            assert app.close() == 0
        finally:
            app.kill()
    finally:
        xvfb.terminate()
        xvfb.wait(10)
