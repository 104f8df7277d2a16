"""mDNS/DNS-SD: a server started with ``--lan`` is found by the ``--join`` browser code.

Announcing and browsing are limited to the loopback interface (DESKCHAT_MDNS_INTERFACES), so
the multicast never leaves this machine.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from chatserver import tls
from desktop import discovery
from tests.desktop.launcher import free_port
from tests.support.server import ROOT, start_live_server

pytestmark = pytest.mark.process

LOOPBACK_ONLY = {"DESKCHAT_MDNS_INTERFACES": "127.0.0.1"}


def test_lan_server_is_found_by_the_join_browser(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKCHAT_MDNS_INTERFACES", "127.0.0.1")
    port = free_port()
    server = start_live_server(
        tmp_path / "data", args=["--lan", "--port", str(port)], env=LOOPBACK_ONLY
    )
    try:
        found = discovery.browse(timeout=20, until=lambda f: any(s.port == port for s in f))
        ours = [s for s in found if s.port == port]
        assert ours, f"not found: {found}"
        assert ours[0].name.startswith("Deskchat on ")
        # Shared over HTTPS with the host's own CA, whose fingerprint --join pins.
        assert ours[0].url == f"https://127.0.0.1:{port}/"
        assert ours[0].fingerprint == tls.ca_fingerprint(tmp_path / "data")
        assert len(ours[0].fingerprint) == 95

        # The command-line listing (`--join` without a window) prints it too.
        listing = subprocess.run(
            [
                sys.executable,
                "-m",
                "desktop",
                "--join",
                "--headless",
                "--data-dir",
                str(tmp_path / "joiner"),
            ],
            cwd=ROOT,
            env={**server.env, **LOOPBACK_ONLY},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listing.returncode == 0, listing.stderr
        assert f"https://127.0.0.1:{port}/" in listing.stdout
    finally:
        assert server.stop() == 0


def test_goodbye_removes_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKCHAT_MDNS_INTERFACES", "127.0.0.1")
    port = free_port()
    seen_removed = []

    def on_change(servers):
        if any(s.port == port for s in servers):
            seen_removed.append("present")
        elif seen_removed:
            seen_removed.append("gone")

    browser = discovery.Browser(on_change=on_change).start()
    server = start_live_server(
        tmp_path / "data", args=["--lan", "--port", str(port)], env=LOOPBACK_ONLY
    )
    try:
        _wait(lambda: "present" in seen_removed)
        assert server.stop() == 0
        _wait(lambda: "gone" in seen_removed)
    finally:
        server.kill()
        browser.close()


def _wait(condition, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
