"""A tiny local control channel, so a second launch can ask the first to show its window.

The running instance listens on 127.0.0.1 on a free port and publishes the port and a random
secret in ``instance.json`` (readable by this user only). A request is one JSON line
``{"secret": ..., "command": ...}``; the answer is one JSON line. Loopback plus the secret keeps
other users' programs and web pages (which cannot read the file) out.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_REQUEST = 64 * 1024


class ControlServer:
    """Answers commands from later launches (and tests) on a loopback socket."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.secret = secrets.token_urlsafe(24)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self.port: int = self._sock.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def published(self) -> dict[str, Any]:
        return {"control_port": self.port, "control_secret": self.secret}

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request = json.loads(_read_line(conn))
                reply = self._dispatch(request)
            except (OSError, ValueError) as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(request, dict) or not hmac.compare_digest(
            str(request.get("secret", "")), self.secret
        ):
            return {"ok": False, "error": "not allowed"}
        handler = self.handlers.get(str(request.get("command")))
        if handler is None:
            return {"ok": False, "error": "unknown command"}
        try:
            return {"ok": True, **handler(request)}
        except Exception as exc:
            logger.exception("control command %s failed", request.get("command"))
            return {"ok": False, "error": str(exc)}


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError("request too large")
    return data


def send(info: dict[str, Any], command: str, timeout: float = 5.0, **extra: Any) -> dict[str, Any]:
    """Send ``command`` to the instance described by ``info`` (its instance.json)."""
    port = info.get("control_port")
    secret = info.get("control_secret")
    if not port or not secret:
        raise OSError("the running instance has no control channel")
    with socket.create_connection(("127.0.0.1", int(port)), timeout=timeout) as conn:
        conn.sendall(json.dumps({"secret": secret, "command": command, **extra}).encode() + b"\n")
        conn.settimeout(timeout)
        reply = json.loads(_read_line(conn) or b"{}")
    if not reply.get("ok"):
        raise OSError(reply.get("error", "no answer"))
    return reply
