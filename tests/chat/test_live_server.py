"""The real thing: ``python -m desktop --headless --port 0`` over real HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3

import pytest
import websockets

from chatserver import __version__
from tests.support.server import Browserless, run_deskchat

pytestmark = pytest.mark.process


async def _ws(server, client: Browserless):
    return await websockets.connect(
        server.ws_url, additional_headers=client.ws_headers(), open_timeout=10
    )


async def _until(ws, kind: str, **match) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


def test_headless_server_serves_http_and_websocket_then_stops_cleanly(live_server):
    status, body = Browserless(live_server.url).get("/healthz")
    assert status == 200
    # The version the package says it is, and the one `deskchat --version` prints.
    assert json.loads(body) == {"status": "ok", "version": __version__}
    assert run_deskchat("--version").stdout.strip() == f"Deskchat {__version__}"

    alice, bob = Browserless(live_server.url), Browserless(live_server.url)
    alice.signup("alice")
    bob.signup("bob")

    async def chat() -> None:
        a, b = await _ws(live_server, alice), await _ws(live_server, bob)
        await _until(a, "conversations")
        await _until(b, "conversations")
        await a.send(json.dumps({"type": "join", "room": "general"}))
        await b.send(json.dumps({"type": "join", "room": "general"}))
        await _until(a, "joined")
        await _until(b, "joined")
        await a.send(
            json.dumps({"type": "send", "room": "general", "body": "hi", "client_id": "1"})
        )
        ack = await _until(a, "ack")
        message = await _until(b, "message")
        assert message["id"] == ack["id"] and message["body"] == "hi"
        await a.close()
        await b.close()

    asyncio.run(chat())
    assert live_server.stop(signal.SIGTERM) == 0
    # The port is free again (nothing answers; a new server may listen, as servers do with
    # SO_REUSEADDR) and the database is whole, with the message in it.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", live_server.port), timeout=2).close()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", live_server.port))
        probe.listen()
    db = sqlite3.connect(live_server.data_dir / "deskchat.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT body FROM chat_message").fetchall() == [("hi",)]
    # Nobody is left "online" after a clean stop.
    assert db.execute("SELECT COUNT(*) FROM chat_connection").fetchone() == (0,)


def test_sigint_also_stops_with_exit_zero(live_server):
    assert live_server.stop(signal.SIGINT) == 0


def test_first_account_is_administrator_and_admin_is_staff_only(live_server):
    admin, user = Browserless(live_server.url), Browserless(live_server.url)
    admin.signup("boss")
    user.signup("worker")
    assert admin.get("/admin/")[0] == 200
    status, page = user.get("/admin/")
    assert "Log in" in page or status in (302, 403)
    assert "Site administration" not in page


def manage(*args: str, data_dir) -> str:
    """``python -m desktop manage ARGS --data-dir DIR``; fails the test if it fails."""
    result = run_deskchat("manage", *args, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_manage_runs_against_the_same_data_folder(tmp_path):
    data = tmp_path / "data"
    manage("migrate", data_dir=data)
    manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "r@x.example",
        data_dir=data,
    )
    out = manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; print(User.objects.get().is_superuser)",
        data_dir=data,
    )
    assert out.strip().splitlines()[-1] == "True"
    assert (data / "secret_key").stat().st_mode & 0o077 == 0  # private to the user


def test_port_already_taken_is_one_plain_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_deskchat(
            "--headless", "--port", str(port), "--data-dir", str(tmp_path), timeout=60
        )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_new_data_folder_is_private_to_the_user(tmp_path):
    data = tmp_path / "fresh" / "data"
    manage("migrate", data_dir=data)
    assert data.stat().st_mode & 0o077 == 0
    assert (data / "deskchat.sqlite3").exists()
