"""Sharing on the LAN with a real window: a second person joins over the shared port.

The test runs in a network namespace of its own (tests/support/netns.py) with one LAN address,
so the join address, the QR code and the allowed hosts are known and checked on any runner,
and nothing outside this machine is ever contacted. The guest joins through that LAN address,
as a colleague's browser would.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time

import pytest

from chatserver import tls
from desktop import lan
from tests.desktop.launcher import App, free_port, port_open, see_on_screen, window_env
from tests.support.netns import lan_namespace
from tests.support.server import Browserless

pytestmark = [pytest.mark.window, pytest.mark.process]

PASSWORD = "correct-horse-battery"


def status_for_host(port: int, host_header: str, context=None) -> int:
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:  # TLS checked against the CA, the name aside: the Host header is what is tested
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
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
    with lan_namespace() as address:
        _share_and_join(display, tmp_path, address)


def _share_and_join(display: str, tmp_path, address: str) -> None:
    from websockets.sync.client import connect

    assert lan.lan_ipv4_addresses() == [address]
    port = free_port()
    app = App.launch(tmp_path / "data", window_env(display), "--lan", "--port", str(port))
    try:
        app.wait_control()
        app.wait_page(lambda p: "Create your account" in p["text"])
        create_account_in_window(app, "host")
        app.wait_page(lambda p: p["user"] == "host")

        # The sharing panel opened by itself with the join address (HTTPS, to the page that
        # shows how to trust the host's CA), its QR code and the CA's fingerprint.
        join = f"https://{address}:{port}/trust/"
        panel = app.wait_page(lambda p: join in p["text"], window="sharing")
        assert "Share on the network" in panel["text"]
        ca = tmp_path / "data" / "tls" / "ca.crt"
        assert tls.ca_fingerprint(tmp_path / "data") in panel["text"]
        trusting = ssl.create_default_context(cafile=str(ca))
        loose = ssl.create_default_context(cafile=str(ca))
        loose.check_hostname = False
        qr_count = app.eval("String(document.querySelectorAll('.join svg').length)", "sharing")
        assert qr_count == "1"
        # The panel sits over the chat: what a person sees is the address to give out.
        see_on_screen(display, "window-sharing.png", "Share on the network", f"{address}:{port}")

        # Exactly localhost and the LAN address are accepted as Host.
        assert port_open(port) and port_open(port, address)
        assert status_for_host(port, f"127.0.0.1:{port}", loose) == 200
        assert status_for_host(port, f"{address}:{port}", loose) == 200
        assert status_for_host(port, f"intruder.example:{port}", loose) == 400

        # The window's user opens a room.
        app.eval("location.href = '/chat/lobby/'; 'ok'")
        app.wait_page(lambda p: "lobby" in p["text"] and p["user"] == "host")

        # A guest signs up through the LAN address and says something.
        guest = Browserless(f"https://{address}:{port}/", ssl_context=trusting)
        guest.signup("guest")
        with connect(
            f"wss://{address}:{port}/ws/", additional_headers=guest.ws_headers(), ssl=trusting
        ) as ws:
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
        see_on_screen(display, "window-lan.png", "hello from the LAN", "guest")

        # Switching sharing off in the panel closes the shared port at once.
        app.eval("document.getElementById('lan').click(); 'ok'", "sharing")
        app.wait_page(lambda p: "https://" not in p["text"], window="sharing")
        assert not port_open(port) and not port_open(port, address)
        window_port = int(app.url.rsplit(":", 1)[1].strip("/"))
        # No longer an allowed host.
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
