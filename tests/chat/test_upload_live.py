"""Uploads through the real server (Daphne): an upload cut off half-way leaves nothing."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import uuid

import pytest

from tests.support.server import Browserless

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
