"""Upload and download of one large file on loopback, and what the server's memory does.

``nice -n 10 .venv/bin/python -m bench.file_transfer [--mb 1024]``: starts the real server
(``python -m desktop --headless``) on a fresh data folder with ``DESKCHAT_MAX_UPLOAD_MB``
above the file, sends one file of that size to ``POST /files/`` streamed from disk (the
client never holds it in memory), downloads it back, and prints JSON: seconds and MB/s each
way, and the server's resident memory before, at its peak (the kernel's high-water mark,
``VmHWM``, so no sampling can miss it) and after. Meanwhile a chat client sends a message
every 50 ms and times each ``ack``: before the upload (the baseline), while it is sent and
processed, and during the download, so the cost of a big file to everyone else is a figure
too. docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from websockets.sync.client import connect

from bench.cli import machine
from bench.server_processes import seed, start_deskchat

BLOCK = 1024 * 1024


def memory(pid: int) -> dict[str, int]:
    """Current and peak resident memory of ``pid``, in MiB (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return {"rss_mb": int(found["VmRSS"]) // 1024, "peak_mb": int(found["VmHWM"]) // 1024}


def make_file(path: Path, mb: int) -> str:
    """``mb`` MiB of incompressible bytes (a random block, repeated); returns its SHA-256."""
    block = os.urandom(BLOCK)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(mb):
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


def csrf_token(host: str, port: int, session: str) -> str:
    connection = http.client.HTTPConnection(host, port, timeout=60)
    connection.request("GET", "/", headers={"Cookie": f"deskchat_session={session}"})
    page = connection.getresponse().read().decode()
    connection.close()
    return re.search(r'data-csrf="([^"]+)"', page).group(1)


def upload(host: str, port: int, session: str, path: Path) -> tuple[int, dict, float]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="room"\r\n\r\ngeneral\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    token = csrf_token(host, port, session)
    connection = http.client.HTTPConnection(host, port, timeout=600)
    connection.putrequest("POST", "/files/")
    for name, value in {
        "Cookie": f"deskchat_session={session}; deskchat_csrftoken={token}",
        "X-CSRFToken": token,
        "Origin": f"http://{host}:{port}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
    }.items():
        connection.putheader(name, value)
    connection.endheaders()
    started = time.perf_counter()
    connection.send(head)
    with path.open("rb") as source:
        while chunk := source.read(BLOCK):
            connection.send(chunk)
    connection.send(tail)
    reply = connection.getresponse()
    answer = json.loads(reply.read())
    elapsed = time.perf_counter() - started
    connection.close()
    return reply.status, answer, elapsed


def download(host: str, port: int, session: str, url: str) -> tuple[int, str, float]:
    connection = http.client.HTTPConnection(host, port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", url, headers={"Cookie": f"deskchat_session={session}"})
    reply = connection.getresponse()
    digest = hashlib.sha256()
    size = 0
    while chunk := reply.read(BLOCK):
        digest.update(chunk)
        size += len(chunk)
    elapsed = time.perf_counter() - started
    connection.close()
    return size, digest.hexdigest(), elapsed


class ChatProbe(threading.Thread):
    """One chat client sending a message every ``every`` seconds, each ack's round trip kept
    under the phase (``phase`` attribute) it was sent in."""

    def __init__(self, url: str, session: str, every: float = 0.05) -> None:
        super().__init__(daemon=True, name="chat-probe")
        self.url, self.session, self.every = url, session, every
        self.phase = "before"
        self.rtts: dict[str, list[float]] = {}
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        headers = {"Cookie": f"deskchat_session={self.session}", "Origin": self.url.rstrip("/")}
        ws_url = self.url.replace("http", "ws", 1) + "ws/"
        with connect(ws_url, additional_headers=headers, open_timeout=30) as ws:
            ws.send(json.dumps({"type": "join", "room": "general"}))
            while json.loads(ws.recv(30))["type"] != "joined":
                pass
            self.ready.set()
            n = 0
            while not self.stopping.is_set():
                n += 1
                phase, client_id = self.phase, f"probe-{n}"
                started = time.perf_counter()
                ws.send(
                    json.dumps(
                        {
                            "type": "send",
                            "room": "general",
                            "body": f"ping {n}",
                            "client_id": client_id,
                        }
                    )
                )
                while True:
                    frame = json.loads(ws.recv(120))
                    if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                        break
                    if frame.get("type") == "error":
                        raise RuntimeError(f"the chat probe was refused: {frame}")
                self.rtts.setdefault(phase, []).append(time.perf_counter() - started)
                self.stopping.wait(self.every)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for phase, values in self.rtts.items():
            ordered = sorted(values)
            out[phase] = {
                "acks": len(ordered),
                "p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
                "max_ms": round(ordered[-1] * 1000, 1),
            }
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.file_transfer", description=__doc__)
    parser.add_argument("--mb", type=int, default=1024, help="file size in MiB (default 1024)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deskchat-upload-bench-") as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"
        people = seed(data_dir, users=1, rooms=["general"])
        session = people["users"][0]["session"]
        big = folder / "big.bin"
        expected = make_file(big, args.mb)
        server = start_deskchat(
            data_dir,
            # The probe sends 20 messages a second, over the default rate (5 a second).
            env={"DESKCHAT_MAX_UPLOAD_MB": str(args.mb + 16), "DESKCHAT_RATE_PER_SECOND": "100"},
        )
        host, port = "127.0.0.1", int(server.url.rstrip("/").rsplit(":", 1)[1])
        probe = ChatProbe(server.url, session)
        try:
            probe.start()
            probe.ready.wait(30)
            time.sleep(3)  # the baseline: three seconds of chat with nothing else going on
            before = memory(server.pid)
            probe.phase = "upload"
            status, answer, up_seconds = upload(host, port, session, big)
            after_upload = memory(server.pid)
            if status != 201:
                raise RuntimeError(f"upload answered {status}: {answer}")
            probe.phase = "download"
            size, digest, down_seconds = download(host, port, session, answer["url"])
            after_download = memory(server.pid)
        finally:
            probe.stopping.set()
            probe.join(30)
            code = server.stop()
            log = (data_dir / "server.log").read_text(errors="replace")
            problems = [line for line in log.splitlines() if "ERROR" in line or "Traceback" in line]
    size_mb = args.mb
    result = {
        "machine": machine(),
        "file_mb": size_mb,
        "upload_seconds": round(up_seconds, 2),
        "upload_mb_per_s": round(size_mb / up_seconds, 1),
        "download_seconds": round(down_seconds, 2),
        "download_mb_per_s": round(size_mb / down_seconds, 1),
        "download_intact": size == args.mb * BLOCK and digest == expected,
        "server_rss_mb_before": before["rss_mb"],
        "server_peak_rss_mb_upload": after_upload["peak_mb"],
        "server_rss_mb_after_upload": after_upload["rss_mb"],
        "server_peak_rss_mb_download": after_download["peak_mb"],
        "chat_ack_round_trip": probe.summary(),
        "server_exit_code": code,
        "server_log_problems": problems[:5],
    }
    print(json.dumps(result, indent=2))
    return 0 if result["download_intact"] and code == 0 and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
