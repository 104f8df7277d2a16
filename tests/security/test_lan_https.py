"""HTTPS on the LAN with Deskchat's own CA, in a real Chromium (issue 16).

The server shares on the LAN address of a network namespace of the test's own
(tests/support/netns.py). One Chromium trusts the host's CA the way a person's does after the
trust page's steps on Linux: the CA imported into its NSS database with ``certutil``. It loads
the join link with no certificate error, is a secure context, registers the service worker
(which caches static files only), and chats end to end over ``wss://`` with a colleague. A
Chromium that does not trust the CA gets the certificate error, and the same port spoken to in
plain HTTP serves nothing: no silent downgrade.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
from pathlib import Path

import pytest

from chatserver import tls
from tests.desktop.launcher import free_port
from tests.support.netns import lan_namespace
from tests.support.server import Browserless, start_live_server
from tests.support.tools import require_executable
from tests.ui.conftest import CHROMIUM_ARGS, PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.process]


def nss_database_trusting(home: Path, ca: Path) -> None:
    """``home/.pki/nssdb`` with ``ca`` trusted to identify websites (what Chromium on Linux
    reads; the trust page's "Manage certificates › Authorities › Import" writes the same)."""
    certutil = require_executable("certutil", "apt-get install libnss3-tools")
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    for command in (
        [certutil, "-N", "-d", f"sql:{db}", "--empty-password"],
        [certutil, "-A", "-d", f"sql:{db}", "-n", "Deskchat local CA", "-t", "C,,", "-i", str(ca)],
    ):
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_a_browser_trusting_the_ca_gets_https_a_service_worker_and_the_chat(tmp_path):
    chromium = require_executable("chromium", "apt-get install chromium")
    with lan_namespace() as address:
        port = free_port()
        server = start_live_server(
            tmp_path / "data",
            args=["--lan", "--port", str(port)],
            env={"DESKCHAT_MDNS_INTERFACES": address},
        )
        try:
            _browse(chromium, tmp_path, server, address, port)
        finally:
            assert server.stop() == 0


def _browse(chromium: str, tmp_path: Path, server, address: str, port: int) -> None:
    from playwright.sync_api import Error, expect, sync_playwright
    from websockets.sync.client import connect

    data = tmp_path / "data"
    ca = data / "tls" / "ca.crt"
    assert (data / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (data / "tls" / "server.key").stat().st_mode & 0o777 == 0o600
    fingerprint = tls.ca_fingerprint(data)
    base = f"https://{address}:{port}/"
    trusted_home, stranger_home = tmp_path / "trusting", tmp_path / "stranger"
    nss_database_trusting(trusted_home, ca)
    stranger_home.mkdir()

    with sync_playwright() as playwright:
        # A browser that never saw the CA: the certificate error, nothing else.
        stranger = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, env={"HOME": str(stranger_home)}
        )
        page = stranger.new_page()
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(base + "trust/")
        # Plain HTTP on the same port is not answered with the chat (no downgrade).
        with pytest.raises(Error, match="ERR_"):
            page.goto(f"http://{address}:{port}/trust/")
        stranger.close()

        # A profile on disk, as a person's browser has: Chromium will not offer to install an
        # app from an incognito (Playwright's default) context.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            env={"HOME": str(trusted_home)},
            locale="en-US",
            viewport={"width": 900, "height": 1000},
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type in {"error", "warning"} else None,
        )

        # The join link: the trust page, with no certificate error, in a secure context.
        reply = page.goto(base + "trust/")
        assert reply is not None and reply.ok
        expect(page.locator("#fingerprint")).to_have_text(fingerprint)
        assert page.evaluate("window.isSecureContext") is True
        for os_name in ("windows", "macos", "linux", "android", "ios"):
            expect(page.locator(f"#steps-{os_name}")).to_have_count(1)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "trust-page.png", full_page=True)
        # Each system's steps, opened as a person opens them (docs/install.md shows these).
        for os_name in ("windows", "macos", "linux", "android", "ios"):
            steps = page.locator(f"#steps-{os_name}")
            steps.locator("summary").click()
            expect(steps.locator("li").first).to_be_visible()
            steps.screenshot(path=SCREENSHOTS / f"trust-steps-{os_name}.png")

        # The service worker registers and controls the page.
        scope = page.evaluate(
            "navigator.serviceWorker.ready.then((registration) => registration.scope)"
        )
        assert scope == base
        # Chromium's own verdict on "Install Deskchat": nothing missing (manifest, icons,
        # worker, secure context).
        cdp = context.new_cdp_session(page)
        verdict = cdp.send("Page.getInstallabilityErrors")
        assert verdict["installabilityErrors"] == [], verdict
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == base + "manifest.webmanifest" and not manifest["errors"]
        # The CA download is the CA certificate itself.
        downloaded = page.evaluate(
            "fetch('/trust/deskchat-ca.crt').then((r) => r.ok ? r.text() : r.status)"
        )
        assert downloaded == ca.read_text()

        # On to the chat: the first account, then the chat over wss://.
        page.locator("#continue").click()
        page.fill("#id_username", "host-colleague")
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.locator("form button[type=submit]").first.click()
        page.locator("#app[data-state=connected]").wait_for()
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["deskchat_session"]["secure"] and cookies["deskchat_csrftoken"]["secure"]

        # A colleague on a plain client that pins nothing but trusts the CA, over wss://.
        trusting = ssl.create_default_context(cafile=str(ca))
        colleague = Browserless(base, ssl_context=trusting)
        colleague.signup("colleague")
        with connect(
            f"wss://{address}:{port}/ws/", additional_headers=colleague.ws_headers(), ssl=trusting
        ) as ws:
            ws.send(json.dumps({"type": "join", "room": "general"}))
            _wait(ws, "joined")
            ws.send(
                json.dumps(
                    {"type": "send", "room": "general", "client_id": "c1", "body": "hi over wss"}
                )
            )
            _wait(ws, "ack")
            expect(page.locator("#message-list .msg-body", has_text="hi over wss")).to_be_visible()
            page.fill("#composer-input", "and back over wss")
            page.press("#composer-input", "Enter")
            message = _wait(ws, "message", body="and back over wss")
            assert message["user"] == "host-colleague"
        page.screenshot(path=SCREENSHOTS / "chat-over-https.png")

        # What the service worker cached: Deskchat's static files, nothing rendered for a
        # person, no message.
        cached = page.evaluate(
            """async () => {
                const out = [];
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    for (const request of await cache.keys()) {
                        out.push(new URL(request.url).pathname);
                    }
                }
                return out;
            }"""
        )
        assert "/static/js/app.js" in cached and "/static/offline.html" in cached
        assert all(path.startswith("/static/") for path in cached), cached
        assert not [p for p in problems if "ERR_CERT" in p or "service worker" in p], problems

        # An update: the server now sends a worker of another version (as after an upgrade,
        # when the shell's bytes changed). The next load installs it, it takes over at once
        # and the old version's cache is gone.
        old_caches = page.evaluate("caches.keys()")
        assert len(old_caches) == 1 and old_caches[0].startswith("deskchat-shell-")

        def newer_worker(route) -> None:
            original = route.fetch()
            text = re.sub(r'const VERSION = "[^"]*";', 'const VERSION = "v-next";', original.text())
            route.fulfill(response=original, body=text)

        context.route("**/sw.js", newer_worker)
        page.reload()
        page.wait_for_function(
            """async () => {
                const names = await caches.keys();
                return names.length === 1 && names[0] === "deskchat-shell-v-next"
                    && navigator.serviceWorker.controller !== null;
            }""",
            polling=200,
        )
        page.reload()
        page.locator("#app[data-state=connected]").wait_for()
        context.close()


def _wait(ws, kind: str, **match) -> dict:
    while True:
        frame = json.loads(ws.recv(timeout=15))
        assert frame["type"] != "error", frame
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame
