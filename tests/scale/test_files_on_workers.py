"""Files with `deskchat serve --workers 2` on Redis + PostgreSQL behind the shipped nginx file
(docs/deploy.md): an upload above the site's 1m body limit goes through and comes back whole,
and two workers sweeping the same database remove an unsent upload once, keep a sent one,
and log no error doing so (tests/support/health.py)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid

import pytest
from websockets.sync.client import connect

from tests.chat.test_upload_live import _multipart
from tests.scale.support import start_serve
from tests.scale.test_nginx import free_port, site_config, start_nginx
from tests.support.server import Browserless

pytestmark = [pytest.mark.scale, pytest.mark.process]


def upload(front_port: int, person: Browserless, content: bytes, name: str) -> tuple[int, dict]:
    """POST /files/ through nginx on a raw socket (no Origin: a same-site form's CSRF)."""
    token = next(c.value for c in person.jar if c.name == "deskchat_csrftoken")
    boundary = uuid.uuid4().hex
    body = _multipart(boundary, {"room": "general"}, name, content)
    head = (
        f"POST /files/ HTTP/1.1\r\nHost: 127.0.0.1:{front_port}\r\n"
        f"Cookie: deskchat_session={person.session_cookie()}; deskchat_csrftoken={token}\r\n"
        f"X-CSRFToken: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", front_port), timeout=60) as sock:
        sock.sendall(head + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, json.loads(reply.split(b"\r\n\r\n", 1)[1] or b"{}")


def download(person: Browserless, url: str) -> tuple[int, bytes]:
    import urllib.error

    try:
        with person.opener.open(person.base_url + url.lstrip("/"), timeout=60) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_files_through_nginx_and_unsent_ones_swept_by_two_workers(tmp_path, engines_env):
    served = start_serve(
        tmp_path / "data",
        workers=2,
        env={**engines_env, "DESKCHAT_UNSENT_UPLOAD_HOURS": "0.0005"},  # 1.8 s
    )
    port = free_port()
    nginx = None
    try:
        nginx = start_nginx(tmp_path / "nginx", site_config(served.urls, port), port)
        front = f"http://127.0.0.1:{port}/"
        alice = Browserless(front)
        alice.signup("alice")
        alice.get("/")  # the CSRF cookie
        big = os.urandom(1024 * 1024) * 5  # five times the site's 1m body limit
        status, sent = upload(port, alice, big, "big.bin")
        assert status == 201, sent
        with connect(
            front.replace("http", "ws", 1) + "ws/", additional_headers=alice.ws_headers()
        ) as ws:
            message = {"type": "send", "room": "general", "body": "", "client_id": "c1"}
            ws.send(json.dumps({**message, "files": [sent["id"]]}))
            while (frame := json.loads(ws.recv(timeout=15)))["type"] != "ack":
                assert frame["type"] != "error", frame
        status, data = download(alice, sent["url"])
        assert status == 200 and hashlib.sha256(data).digest() == hashlib.sha256(big).digest()

        status, unsent = upload(port, alice, b"never sent", "unsent.txt")
        assert status == 201
        digest = hashlib.sha256(b"never sent").hexdigest()
        blob = served.data_dir / "files" / digest[:2] / digest
        assert blob.exists()
        deadline = time.monotonic() + 30
        while blob.exists():  # either worker's periodic round removes it
            assert time.monotonic() < deadline, "the unsent upload was never removed"
            time.sleep(0.05)
        assert download(alice, unsent["url"])[0] == 404
        status, data = download(alice, sent["url"])  # older, but sent: kept
        assert status == 200 and len(data) == len(big)
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        served.stop()
