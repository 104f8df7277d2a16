"""Sharing on the LAN with a real window: a second person joins over the shared port.

The server binds 0.0.0.0, but the test connects only through 127.0.0.1 (and sends the LAN
address in the Host header to check the allowed-hosts list): nothing outside this machine is
ever contacted.
"""

from __future__ import annotations

import http.client
import json
import time

import pytest

from desktop import lan
from tests.desktop.launcher import App, free_port, port_open, screenshot, window_env
from tests.support.server import Browserless

pytestmark = [pytest.mark.window, pytest.mark.process]

PASSWORD = "correct-horse-battery"


def status_for_host(port: int, host_header: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/healthz", headers={"Host": host_header})
        return connection.getresponse().status
    finally:
        connection.close()


def create_account_in_window(app: App, username: str) -> None:
    values = json.dumps({"username": username, "password1": PASSWORD, "password2": PASSWORD})
    app.eval(
        f"for (const [id, v] of Object.entries({values}))"
        " document.getElementById(id).value = v;"
        " document.getElementById('account').requestSubmit(); 'ok'"
    )


def test_lan_guest_signs_up_and_the_window_sees_the_message(display, tmp_path):
    from websockets.sync.client import connect

    port = free_port()
    app = App.launch(tmp_path / "data", window_env(display), "--lan", "--port", str(port))
    try:
        app.wait_control()
        app.wait_page(lambda p: "Create your account" in p["text"])
        create_account_in_window(app, "host")
        app.wait_page(lambda p: p["user"] == "host")

        # The sharing panel opened by itself with a join address and a QR code per interface.
        addresses = lan.lan_ipv4_addresses()
        panel = app.wait_page(lambda p: "Share on the network" in p["text"], window="sharing")
        for address in addresses:
            assert f"http://{address}:{port}/" in panel["text"]
        qr_count = app.eval("String(document.querySelectorAll('.join svg').length)", "sharing")
        assert int(qr_count) == len(addresses)
        screenshot(app.env["DISPLAY"], "window-sharing.png")  # the panel sits over the chat

        # Exactly localhost and the LAN addresses are accepted as Host.
        assert port_open(port)
        assert status_for_host(port, f"127.0.0.1:{port}") == 200
        for address in addresses:
            assert status_for_host(port, f"{address}:{port}") == 200
        assert status_for_host(port, f"intruder.example:{port}") == 400

        # The window's user opens a room.
        app.eval("location.href = '/chat/lobby/'; 'ok'")
        app.wait_page(lambda p: "lobby" in p["text"] and p["user"] == "host")

        # A guest signs up through the shared port and says something.
        guest = Browserless(f"http://127.0.0.1:{port}/")
        guest.signup("guest")
        with connect(f"ws://127.0.0.1:{port}/ws/", additional_headers=guest.ws_headers()) as ws:
            ws.send(json.dumps({"type": "join", "room": "lobby"}))
            _wait_frame(ws, "joined")
            ws.send(
                json.dumps(
                    {
                        "type": "send",
                        "room": "lobby",
                        "client_id": "c1",
                        "body": "hello from the LAN",
                    }
                )
            )
            _wait_frame(ws, "ack")
            app.wait_page(lambda p: "hello from the LAN" in p["text"])
        app.command("sharing", hide=True)  # it sits over the chat (no window manager here)
        time.sleep(1)  # let the chat repaint where the panel was (a picture only, no assertion)
        screenshot(app.env["DISPLAY"], "window-lan.png")

        # Switching sharing off in the panel closes the shared port at once.
        app.eval("document.getElementById('lan').click(); 'ok'", "sharing")
        app.wait_page(lambda p: "http://" not in p["text"], window="sharing")
        assert not port_open(port)
        window_port = int(app.url.rsplit(":", 1)[1].strip("/"))
        for address in addresses:  # no longer an allowed host
            assert status_for_host(window_port, f"{address}:{port}") == 400

        assert app.close() == 0
        assert not port_open(port)
    finally:
        app.kill()


def _wait_frame(ws, kind: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame
        assert frame["type"] != "error", frame
    raise AssertionError(f"no {kind} frame")
