"""Real WebSocket clients for tests against a real server process.

``connect`` uses the ``websockets`` library (what a native client would use). ``RawWebSocket``
speaks the wire format by hand over a plain socket, for what a library will not do: stop
reading with a tiny receive buffer, or announce a frame larger than it then sends.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import ssl
import struct
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from tests.support.server import Browserless, LiveServer


def signup(server: LiveServer, username: str) -> Browserless:
    browser = Browserless(server.url)
    browser.signup(username)
    return browser


async def connect(
    server: LiveServer,
    browser: Browserless,
    *,
    origin: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> ClientConnection:
    """A logged-in WebSocket; ``hello`` and ``conversations`` are read already."""
    headers = browser.ws_headers()
    if origin is not None:
        headers["Origin"] = origin
    ws = await ws_connect(
        server.ws_url,
        additional_headers=headers,
        max_size=None,
        proxy=None,
        compression=None,
        open_timeout=15,
        ssl=ssl_context,
    )
    await expect(ws, "hello")
    await expect(ws, "conversations")
    return ws


async def recv(ws: ClientConnection, timeout: float = 15) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def expect(ws: ClientConnection, kind: str, timeout: float = 15, **match: Any) -> dict:
    """The next frame of ``kind`` matching ``match``; other frames (presence...) are skipped."""
    while True:
        frame = await recv(ws, timeout)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame
        if frame["type"] == "error" and kind != "error":
            raise AssertionError(f"expected {kind}, got {frame}")


async def send(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(json.dumps(frame))


async def join(ws: ClientConnection, room: str) -> dict[str, Any]:
    await send(ws, {"type": "join", "room": room})
    return await expect(ws, "joined", room=room)


# --- by hand ----------------------------------------------------------------------------------

OP_TEXT, OP_CLOSE = 0x1, 0x8


class RawWebSocket:
    """A client WebSocket over a bare socket (RFC 6455 framing, client frames masked)."""

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buffer = leftover

    @classmethod
    def open(
        cls,
        server: LiveServer,
        headers: dict[str, str],
        *,
        rcvbuf: int | None = None,
        timeout: float = 15,
    ) -> RawWebSocket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Set before connect so the advertised TCP window starts (and stays) small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET /ws/ HTTP/1.1",
            f"Host: 127.0.0.1:{server.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"handshake refused: {data!r}")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            sock.close()
            raise ConnectionError(f"handshake refused: {status.decode()}")
        return cls(sock, rest)

    def send_frame(
        self,
        payload: bytes,
        *,
        opcode: int = OP_TEXT,
        fin: bool = True,
        announce: int | None = None,
    ) -> None:
        """Send one masked frame; ``announce`` claims a different payload length in the header."""
        length = len(payload) if announce is None else announce
        head = bytes([(0x80 if fin else 0) | opcode])
        if length < 126:
            head += bytes([0x80 | length])
        elif length < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_json(self, frame: dict[str, Any]) -> None:
        self.send_frame(json.dumps(frame).encode())

    def _fill(self, count: int) -> None:
        while len(self.buffer) < count:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self.buffer += chunk

    def read_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next unfragmented server frame."""
        self._fill(2)
        opcode, length = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
        offset = 2
        if length == 126:
            self._fill(4)
            length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif length == 127:
            self._fill(10)
            length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
        self._fill(offset + length)
        payload = self.buffer[offset : offset + length]
        self.buffer = self.buffer[offset + length :]
        return opcode, payload

    def read_until_close(self) -> tuple[int | None, list[dict[str, Any]]]:
        """Read text frames up to the server's close frame: (close code, frames)."""
        frames = []
        while True:
            opcode, payload = self.read_frame()
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, frames
            if opcode == OP_TEXT:
                frames.append(json.loads(payload))

    def close(self) -> None:
        self.sock.close()


def wait_for_text(read, needle: str, timeout: float = 15) -> bool:
    """True once ``read()`` (a server's stderr or log so far) contains ``needle``."""
    import time

    deadline = time.monotonic() + timeout
    while needle not in read():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
