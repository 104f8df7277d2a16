"""A large upload against a short idle timeout: is a request still being processed cut?

``nice -n 10 .venv/bin/python -m bench.long_upload [--mb 1024] [--idle 1]``: the real server
(``python -m desktop --headless``) with ``DESKCHAT_HTTP_IDLE_SECONDS=IDLE``; one upload of MB
MiB of random bytes to ``POST /files/``. After the body has arrived, Django still parses and
hashes it for seconds, moving nothing on the wire: Daphne's own ``http_timeout`` counted that
time and answered 503 (docs/benchmarks.md). Prints JSON: the seconds to send the body, the
seconds from then to the answer, the status line, and how many requests the server cut.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.cli import machine, positive_int
from bench.file_transfer import BLOCK, csrf_token
from bench.server_processes import seed, start_deskchat


def run(mb: int, idle: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="deskchat-bench-long-upload-") as tmp:
        data_dir = Path(tmp) / "data"
        session = seed(data_dir, users=1, rooms=["general"])["users"][0]["session"]
        server = start_deskchat(
            data_dir,
            env={"DESKCHAT_HTTP_IDLE_SECONDS": str(idle), "DESKCHAT_MAX_UPLOAD_MB": str(mb + 1)},
        )
        try:
            host, port = "127.0.0.1", int(server.url.rstrip("/").rsplit(":", 1)[1])
            token = csrf_token(host, port, session)
            boundary = uuid.uuid4().hex
            before = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="room"\r\n\r\ngeneral\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
                "\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            after = f"\r\n--{boundary}--\r\n".encode()
            block = os.urandom(BLOCK)
            head = (
                f"POST /files/ HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
                f"Cookie: deskchat_session={session}; deskchat_csrftoken={token}\r\n"
                f"X-CSRFToken: {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(before) + mb * BLOCK + len(after)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            started = time.monotonic()
            with socket.create_connection((host, port), timeout=600) as sock:
                sock.sendall(head + before)
                for _ in range(mb):
                    sock.sendall(block)
                sock.sendall(after)
                body_sent = time.monotonic()
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
            answered = time.monotonic()
        finally:
            code = server.stop()
        log = (data_dir / "server.log").read_text(errors="replace")
    return {
        "machine": machine(),
        "file_mb": mb,
        "idle_seconds": idle,
        "send_s": round(body_sent - started, 2),
        "body_sent_to_answer_s": round(answered - body_sent, 2),
        "status_line": reply.split(b"\r\n", 1)[0].decode(),
        "requests_cut": log.count("answered nothing for"),
        "server_exit_code": code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.long_upload", description=__doc__)
    parser.add_argument("--mb", type=positive_int, default=1024)
    parser.add_argument("--idle", type=positive_int, default=1)
    args = parser.parse_args(argv)
    json.dump(run(args.mb, args.idle), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
