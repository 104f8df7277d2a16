"""Long and stuck HTTP requests on the real server (docs/protocol.md, "Long uploads and
downloads"), and uploads never sent removed by the running server ("Uploads never sent").

The server runs with DESKCHAT_HTTP_IDLE_SECONDS=1: a transfer that keeps moving for many
times that is never cut; one that stops moving is, whichever side stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid

import pytest
from websockets.sync.client import connect

from tests.chat.test_upload_live import _multipart
from tests.support.server import Browserless, start_live_server

pytestmark = pytest.mark.process

IDLE_SECONDS = 1
# Daphne looks at its requests every 2 s: a request idle for longer than this is cut.
CUT_WITHIN = IDLE_SECONDS + 2


@pytest.fixture
def server(tmp_path):
    server = start_live_server(
        tmp_path / "data",
        env={
            "DESKCHAT_HTTP_IDLE_SECONDS": str(IDLE_SECONDS),
            "DESKCHAT_MAX_UPLOAD_MB": "64",
            # The stuck-request test holds the database's write lock for a few seconds.
            "DESKCHAT_SQLITE_BUSY_TIMEOUT": "60",
        },
    )
    yield server
    server.stop()


def signed_up(server, name: str = "alice") -> Browserless:
    person = Browserless(server.url)
    person.signup(name)
    person.get("/")  # the CSRF cookie
    return person


def upload_head(server, person: Browserless, boundary: str, length: int) -> bytes:
    token = next(c.value for c in person.jar if c.name == "deskchat_csrftoken")
    return (
        "POST /files/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\nOrigin: {server.origin}\r\n"
        f"Cookie: deskchat_session={person.session_cookie()}; deskchat_csrftoken={token}\r\n"
        f"X-CSRFToken: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def read_reply(sock: socket.socket) -> bytes:
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except ConnectionResetError:
        pass
    return reply


def upload(server, person: Browserless, content: bytes, name: str = "f.bin") -> dict:
    boundary = uuid.uuid4().hex
    body = _multipart(boundary, {"room": "general"}, name, content)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(upload_head(server, person, boundary, len(body)) + body)
        reply = read_reply(sock)
    assert reply.startswith(b"HTTP/1.1 201"), reply[:300]
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


def download_request(server, person: Browserless, url: str) -> bytes:
    return (
        f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Cookie: deskchat_session={person.session_cookie()}\r\nConnection: close\r\n\r\n"
    ).encode()


def small_window_socket(server) -> socket.socket:
    """A client socket with a small receive buffer (set before connecting, so the window
    the server may fill stays small): a slow reader holds the server back at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.settimeout(60)
    sock.connect(("127.0.0.1", server.port))
    return sock


def test_a_paced_upload_and_a_paced_download_outlast_the_idle_time(server):
    alice = signed_up(server)
    content = os.urandom(64 * 1024) * 24  # 1.5 MiB
    boundary = uuid.uuid4().hex
    body = _multipart(boundary, {"room": "general"}, "paced.bin", content)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(upload_head(server, alice, boundary, len(body)))
        for offset in range(0, len(body), 64 * 1024):  # 64 KiB every 0.25 s: ~6 s
            sock.sendall(body[offset : offset + 64 * 1024])
            time.sleep(0.25)
        reply = read_reply(sock)
    upload_took = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 201"), reply[:300]
    found = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert found["size"] == len(content)
    assert upload_took > 2 * CUT_WITHIN, upload_took  # the pacing did make it long

    # The download, read 16 KiB at a time with pauses by a reader with a small window.
    big = os.urandom(1024 * 1024) * 12  # 12 MiB: the server must wait on the reader
    stored = upload(server, alice, big, "big.bin")
    sock = small_window_socket(server)
    received = b""
    started = time.monotonic()
    with sock:
        sock.sendall(download_request(server, alice, stored["url"]))
        while chunk := sock.recv(16384):
            received += chunk
            time.sleep(0.01)  # at most ~1.6 MB/s: several seconds for the server to wait
    download_took = time.monotonic() - started
    head, _, data = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert hashlib.sha256(data).digest() == hashlib.sha256(big).digest()
    assert download_took > CUT_WITHIN, download_took
    assert "moved no byte" not in server.stderr()


def test_a_stalled_upload_is_cut_and_leaves_nothing(server):
    alice = signed_up(server)
    boundary = uuid.uuid4().hex
    body = _multipart(boundary, {"room": "general"}, "stalled.bin", b"\x02" * 2_000_000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(upload_head(server, alice, boundary, len(body)) + body[:500_000])
        # Then nothing more: the server closes the connection (the marker), well before
        # this socket's own 60 s timeout.
        assert read_reply(sock) == b""
    files = server.data_dir / "files"
    assert not [p for p in files.rglob("*") if p.is_file()] if files.exists() else True
    # The server serves on.
    assert upload(server, alice, b"after the stall")["size"] == 15


def _wait_for_line(server, text: str, timeout: float = 30) -> threading.Event:
    """An event set once the server's stderr has a line with ``text``."""
    seen = threading.Event()

    def follow() -> None:
        for line in server.follow_stderr():
            if text in line:
                seen.set()
                return

    threading.Thread(target=follow, daemon=True).start()
    return seen


def test_a_stalled_download_is_dropped_not_ended_as_if_complete(server):
    alice = signed_up(server)
    big = os.urandom(1024 * 1024) * 24  # far more than the socket buffers hold
    stored = upload(server, alice, big, "big.bin")
    dropped = _wait_for_line(server, "moved no byte")
    sock = small_window_socket(server)
    with sock:
        sock.sendall(download_request(server, alice, stored["url"]))
        first = sock.recv(16384)
        assert first.startswith(b"HTTP/1.1 200")
        # The reader stops reading. The server's warning is the marker that it gave up.
        assert dropped.wait(60), server.stderr()[-2000:]
        rest = read_reply(sock)
    head, _, data = (first + rest).partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
    assert length == len(big) and len(data) < length  # cut, and a reader can tell
    # The server serves on: a whole download on another connection.
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as again:
        again.sendall(download_request(server, alice, stored["url"]))
        whole = read_reply(again).partition(b"\r\n\r\n")[2]
    assert hashlib.sha256(whole).digest() == hashlib.sha256(big).digest()


def test_a_stuck_request_is_answered_503(server):
    """An upload whose storing waits on the database (another program holds its write
    lock) moves nothing: after the idle time it is answered 503 instead of hanging."""
    alice = signed_up(server)
    stuck_line = _wait_for_line(server, "answered nothing for")
    holder = sqlite3.connect(server.data_dir / "deskchat.sqlite3", timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    try:
        boundary = uuid.uuid4().hex
        body = _multipart(boundary, {"room": "general"}, "stuck.txt", b"waits on the lock")
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(upload_head(server, alice, boundary, len(body)) + body)
            reply = read_reply(sock)
    finally:
        holder.rollback()
        holder.close()
    assert reply.startswith(b"HTTP/1.1 503"), reply[:300]
    assert stuck_line.wait(30)
    # Once the lock is gone the upload is stored after all (nobody got its id: an upload
    # never sent, removed in due time); the marker that the server is done with it.
    deadline = time.monotonic() + 30
    with sqlite3.connect(server.data_dir / "deskchat.sqlite3", timeout=30) as db:
        while not db.execute("SELECT count(*) FROM chat_attachment").fetchone()[0]:
            assert time.monotonic() < deadline, "the upload never finished"
            time.sleep(0.05)


def test_the_running_server_removes_uploads_never_sent(tmp_path):
    server = start_live_server(
        tmp_path / "data",
        env={"DESKCHAT_UNSENT_UPLOAD_HOURS": "0.0005"},  # 1.8 s
    )
    try:
        alice = signed_up(server)
        sent = upload(server, alice, b"sent at once", "sent.txt")
        with connect(server.ws_url, additional_headers=alice.ws_headers()) as ws:
            ws.send(json.dumps({"type": "join", "room": "general"}))
            ws.send(
                json.dumps(
                    {
                        "type": "send",
                        "room": "general",
                        "body": "",
                        "client_id": "c1",
                        "files": [sent["id"]],
                    }
                )
            )
            while (frame := json.loads(ws.recv(timeout=10)))["type"] != "ack":
                assert frame["type"] != "error", frame
        unsent = upload(server, alice, b"never sent", "unsent.txt")
        digest = hashlib.sha256(b"never sent").hexdigest()
        blob = server.data_dir / "files" / digest[:2] / digest
        assert blob.exists()
        deadline = time.monotonic() + 30
        while blob.exists():  # removed by the server's own periodic round
            assert time.monotonic() < deadline, "the unsent upload was never removed"
            time.sleep(0.05)
        status, _ = alice.get(unsent["url"])
        assert status == 404
        status, text = alice.get(sent["url"])  # older than the unsent one, but sent: kept
        assert status == 200 and text == "sent at once"
    finally:
        server.stop()
