"""Uploads through the real server (Daphne): an upload cut off half-way leaves nothing."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import sqlite3
import uuid
from pathlib import Path

import pytest

from tests.support.server import Browserless, start_live_server

pytestmark = pytest.mark.process


def _files_on_disk(data_dir) -> list[str]:
    root = data_dir / "files"
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _multipart(boundary: str, fields: dict[str, str], name: str, content: bytes) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts)


def _post(server, client: Browserless, body: bytes, boundary: str, *, send: int | None = None):
    """POST /files/ on a raw socket; with ``send``, only that many body bytes, then a close."""
    token = next(c.value for c in client.jar if c.name == "deskchat_csrftoken")
    head = (
        "POST /files/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Origin: {server.origin}\r\n"
        f"Cookie: deskchat_session={client.session_cookie()}; deskchat_csrftoken={token}\r\n"
        f"X-CSRFToken: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body[: len(body) if send is None else send])
        if send is not None:
            return None
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, json.loads(reply.split(b"\r\n\r\n", 1)[1])


def test_aborted_upload_leaves_nothing_and_the_next_one_works(live_server):
    alice = Browserless(live_server.url)
    alice.signup("alice")
    status, _ = alice.get("/")  # the page sets the CSRF cookie the app's uploads send back
    assert status == 200 and re.search("deskchat_csrftoken", str(list(alice.jar)))
    boundary = uuid.uuid4().hex
    big = _multipart(boundary, {"room": "general"}, "big.bin", b"\x01" * 5_000_000)
    _post(live_server, alice, big, boundary, send=2_000_000)  # then the socket closes
    # The marker: a whole upload after the aborted one is answered, stored, and alone.
    small = _multipart(boundary, {"room": "general"}, "small.txt", b"complete")
    status, found = _post(live_server, alice, small, boundary)
    assert status == 201 and found["name"] == "small.txt" and found["size"] == 8
    on_disk = _files_on_disk(live_server.data_dir)
    assert len(on_disk) == 1 and not on_disk[0].startswith("tmp/"), on_disk
    with sqlite3.connect(live_server.data_dir / "deskchat.sqlite3") as db:
        assert db.execute("SELECT name FROM chat_attachment").fetchall() == [("small.txt",)]


@pytest.fixture
def small_limit_server(tmp_path):
    """A server that takes files up to 1 MiB."""
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_MAX_UPLOAD_MB": "1"})
    yield server
    server.stop()


def test_large_bodies_reach_django_whole_and_oversized_ones_are_413(small_limit_server):
    server = small_limit_server
    alice = Browserless(server.url)
    alice.signup("alice")
    alice.get("/")
    boundary = uuid.uuid4().hex
    # Above Twisted's 100,000-byte spooling threshold: handed to Django as the spooled file.
    content = bytes(range(256)) * 3000
    body = _multipart(boundary, {"room": "general"}, "spooled.bin", content)
    status, found = _post(server, alice, body, boundary)
    assert status == 201 and found["size"] == len(content)
    with alice.opener.open(server.url + found["url"].lstrip("/"), timeout=10) as reply:
        assert reply.read() == content
    stored = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
    assert [p.read_bytes() == content for p in stored] == [True]
    # Over the limit by its Content-Length: read and dropped, answered 413.
    too_big = _multipart(boundary, {"room": "general"}, "big.bin", b"\x00" * 1_200_000)
    status, answer = _post(server, alice, too_big, boundary)
    assert status == 413 and answer["code"] == "too_large"
    # Chunked (no Content-Length), growing past any request: 413 at once, then closed.
    token = next(c.value for c in alice.jar if c.name == "deskchat_csrftoken")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            (
                "POST /files/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\nOrigin: {server.origin}\r\n"
                f"Cookie: deskchat_session={alice.session_cookie()}; deskchat_csrftoken={token}\r\n"
                f"X-CSRFToken: {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        reply = b""
        try:
            for _ in range(40):  # 40 chunks of 64 KiB: well past 1 MiB + 64 KiB
                chunk = b"\x00" * 65536
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed after the answer, as it should be
        try:
            while data := sock.recv(65536):
                reply += data
        except ConnectionResetError:
            pass
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    stored_after = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
    assert stored_after == stored  # nothing of the refused uploads, no temporary file


def _peak_rss_mb(pid: int) -> int:
    """The process's peak resident memory so far (the kernel's high-water mark), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) // 1024


def test_large_transfers_do_not_sit_in_server_memory(tmp_path):
    """A 48 MiB upload, then a download by a reader that stops after 1 MiB: the server's
    peak memory hardly moves (before: Twisted parsed the upload in memory, Daphne queued it
    whole, and the download was read whole into a list and Twisted's write buffer)."""
    server = start_live_server(tmp_path / "data", env={"DESKCHAT_MAX_UPLOAD_MB": "64"})
    try:
        alice = Browserless(server.url)
        alice.signup("alice")
        alice.get("/")
        boundary = uuid.uuid4().hex
        content = os.urandom(1024 * 1024) * 48
        body = _multipart(boundary, {"room": "general"}, "big.bin", content)
        before = _peak_rss_mb(server.process.pid)
        status, found = _post(server, alice, body, boundary)
        assert status == 201
        after_upload = _peak_rss_mb(server.process.pid)
        assert after_upload - before < 16, (before, after_upload)
        cookie = f"deskchat_session={alice.session_cookie()}"
        slow = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        slow.connect()
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        slow.request("GET", found["url"], headers={"Cookie": cookie})
        reply = slow.getresponse()
        assert reply.read(1024 * 1024) == content[: 1024 * 1024]
        # The marker: a whole second download on another connection, while the first reader
        # reads no more; unpaced, the server would have queued the first one whole meanwhile.
        fast = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        fast.request("GET", found["url"], headers={"Cookie": cookie})
        assert (
            hashlib.sha256(fast.getresponse().read()).digest() == hashlib.sha256(content).digest()
        )
        fast.close()
        after_download = _peak_rss_mb(server.process.pid)
        slow.close()
        assert after_download - after_upload < 16, (after_upload, after_download)
    finally:
        server.stop()
