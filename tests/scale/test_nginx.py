"""deploy/nginx/deskchat.conf, as shipped, puts HTTP and WebSockets on one address and
balances both over the workers (nginx's access log names the worker of every request)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.scale.support import Socket, start_serve
from tests.support.server import ROOT, Browserless
from tests.support.tools import require_executable

pytestmark = [pytest.mark.scale, pytest.mark.process]

SHIPPED = ROOT / "deploy" / "nginx" / "deskchat.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_config(worker_urls: list[str], port: int) -> str:
    """The shipped file with this test's worker ports and listening port: nothing else."""
    text = SHIPPED.read_text()
    servers = "".join(
        f"    server 127.0.0.1:{urllib.parse.urlsplit(u).port} max_fails=1 fail_timeout=5s;\n"
        for u in worker_urls
    )
    text, count = re.subn(r"(    server 127\.0\.0\.1:800\d[^\n]*\n)+", servers, text)
    assert count == 1
    text, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    assert count == 1
    return text


def start_nginx(workdir: Path, site: str, port: int) -> subprocess.Popen:
    nginx = require_executable("nginx", "apt-get install nginx")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "deskchat.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$upstream_addr $status "$request"';
    access_log {workdir}/access.log upstreams;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/deskchat.conf;
}}
"""
    )
    args = [
        nginx,
        "-p",
        str(workdir),
        "-c",
        str(workdir / "nginx.conf"),
        "-e",
        str(workdir / "error.log"),
    ]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((workdir / "error.log").read_text()) from None
            time.sleep(0.05)


def upstreams(log: Path, pattern: str) -> set[str]:
    lines = log.read_text().splitlines()
    return {line.split()[0] for line in lines if re.search(pattern, line)}


def get_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status


async def test_nginx_balances_http_and_websockets_over_the_workers(tmp_path, engines_env):
    served = start_serve(tmp_path / "data", workers=2, env=engines_env)
    port = free_port()
    nginx = None
    try:
        nginx = start_nginx(tmp_path / "nginx", site_config(served.urls, port), port)
        front = f"http://127.0.0.1:{port}/"
        assert [get_status(front + "healthz") for _ in range(6)] == [200] * 6
        alice_http, bob_http = Browserless(front), Browserless(front)
        alice_http.signup("alice")
        bob_http.signup("bob")

        sockets = [await Socket.open(front, alice_http, "alice")]
        sockets.append(await Socket.open(front, bob_http, "bob"))
        sockets.append(await Socket.open(front, alice_http, "alice-2"))
        sockets.append(await Socket.open(front, bob_http, "bob-2"))
        alice, bob = sockets[0], sockets[1]
        # Not "general": everyone is a member of it from sign-up, so no tab would be told.
        await alice.join("ops")
        await bob.join("ops")
        for tab in sockets[2:]:  # the second tabs follow the room their user joined
            await tab.expect("membership", action="join", room="ops")
        ack = await alice.say("through nginx", room="ops")
        for sock in sockets:  # every tab, whichever worker it landed on
            await sock.expect("message", id=ack["id"])

        workers = {f"127.0.0.1:{urllib.parse.urlsplit(u).port}" for u in served.urls}
        log = tmp_path / "nginx" / "access.log"
        assert upstreams(log, r' 200 "GET /healthz') == workers
        for sock in sockets:
            await sock.close()
        # nginx logs a WebSocket when it ends.
        deadline = time.monotonic() + 10
        while log.read_text().count(' 101 "GET /ws/') < len(sockets):
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        assert upstreams(log, r' 101 "GET /ws/') == workers
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        served.stop()
