"""What the sharing panel says about how the LAN is secured, and plain HTTP by choice only.

The panel's own page (ui/templates/desktop/sharing.html) runs in a real Chromium with the
launcher's bridge replaced by a stub that answers ``status()`` as
``LanSharing.sharing_status`` does: with HTTPS it shows the fingerprint, with plain HTTP it
says in words that the network can read the traffic. A headless ``--lan`` run with
``DESKCHAT_LAN_PLAIN_HTTP=1`` shares plain HTTP and makes no CA; without it, HTTPS
(tests/security/test_lan_https.py).
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from desktop import pages
from tests.desktop.launcher import free_port
from tests.support.netns import lan_namespace
from tests.support.server import start_live_server
from tests.support.tools import require_executable
from tests.ui.conftest import CHROMIUM_ARGS

FINGERPRINT = ":".join(["AB"] * 32)


def status(security: str) -> dict:
    scheme = "http" if security == "plain" else "https"
    path = "trust/" if security == "own_ca" else ""
    return {
        "sharing": True,
        "security": security,
        "fingerprint": "" if security == "plain" else FINGERPRINT,
        "port": 8765,
        "join": [{"url": f"{scheme}://10.77.0.1:8765/{path}", "qr": "<svg></svg>"}],
        "error": "",
        "signup": "open",
        "invite_code": "",
        "no_network": False,
    }


@pytest.mark.browser
@pytest.mark.parametrize("security", ["own_ca", "plain"])
def test_the_panel_says_how_the_network_sees_the_chat(security):
    chromium = require_executable("chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    stub = (
        "window.pywebview = {api: {ping: () => true, status: () => Promise.resolve("
        + json.dumps(status(security))
        + ")}};"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        # The bridge first, as pywebview provides it before the page's script asks for it.
        page.set_content(pages.sharing().replace("<script>", f"<script>{stub}", 1))
        page.wait_for_function("document.body.dataset.sharing === 'on'")
        text = page.inner_text("body")
        browser.close()
    if security == "plain":
        assert "Not encrypted" in text and "anyone on this network can read" in text
        assert FINGERPRINT not in text
    else:
        assert "Encrypted (HTTPS)" in text and FINGERPRINT in text
        assert "Not encrypted" not in text


@pytest.mark.process
def test_plain_http_on_the_lan_only_by_the_explicit_setting(tmp_path):
    with lan_namespace() as address:
        port = free_port()
        server = start_live_server(
            tmp_path / "data",
            args=["--lan", "--port", str(port)],
            env={"DESKCHAT_MDNS_INTERFACES": address, "DESKCHAT_LAN_PLAIN_HTTP": "1"},
        )
        try:
            with urllib.request.urlopen(f"http://{address}:{port}/healthz", timeout=10) as reply:
                assert reply.status == 200
            assert f"others can join at http://{address}:{port}/" in server.stderr()
            assert not (tmp_path / "data" / "tls").exists()
        finally:
            assert server.stop() == 0
