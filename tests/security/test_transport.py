"""The real server: Origin checks on the WebSocket, TLS with --cert/--key, and check --deploy."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import ssl
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.reliability.realws import connect, expect, join, send
from tests.support.health import problems
from tests.support.server import ROOT, Browserless, run_deskchat, start_live_server

pytestmark = pytest.mark.process

SECURITY_DOC = ROOT / "docs" / "security.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_live_server(tmp_path_factory.mktemp("transport") / "data")
    yield server
    server.stop()


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://127.0.0.1.evil.example", "https://localhost.evil"],
)
async def test_websocket_from_a_foreign_origin_is_refused_even_with_a_session(server, origin):
    """Cross-site WebSocket hijacking: a page elsewhere rides on the user's cookie."""
    browser = Browserless(server.url)
    browser.signup(f"victim{abs(hash(origin)) % 10_000}")
    headers = {**browser.ws_headers(), "Origin": origin}
    with pytest.raises(InvalidStatus) as refused:
        await ws_connect(server.ws_url, additional_headers=headers, proxy=None)
    # 403 from Channels' origin check; autobahn answers a "null" origin with 400 itself.
    assert refused.value.response.status_code in {400, 403}


async def test_websocket_without_origin_is_refused(server):
    browser = Browserless(server.url)
    browser.signup("no-origin")
    headers = {"Cookie": browser.ws_headers()["Cookie"]}
    with pytest.raises(InvalidStatus) as refused:
        await ws_connect(server.ws_url, additional_headers=headers, proxy=None)
    assert refused.value.response.status_code == 403


async def test_websocket_from_the_app_origin_is_accepted(server):
    browser = Browserless(server.url)
    browser.signup("insider")
    ws = await connect(server, browser)
    await ws.close()


def test_foreign_host_header_is_refused(server):
    """DNS rebinding: a name the server does not answer to gets 400, not the app.

    A LAN peer with a wrong Host header is its own mistake: the server says so in one WARNING
    line, not an ERROR with a traceback (the module's server is health-checked for those)."""
    log = server.data_dir / "logs" / "deskchat.log"
    request = urllib.request.Request(server.url + "healthz", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    said = re.compile(
        r"^\S+ \S+ WARNING (\S+ )?django\.security\.DisallowedHost: "
        r"Invalid HTTP_HOST header: 'evil\.example'\.",
        re.MULTILINE,
    )
    for text in (server.stderr(), log.read_text()):
        assert said.search(text), text[-2000:]
        assert "DisallowedHost" not in "".join(problems(text)), text[-2000:]


# --- TLS --------------------------------------------------------------------------------------


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def status_of(url: str, context: ssl.SSLContext | None = None) -> int:
    with urllib.request.urlopen(url, context=context, timeout=10) as reply:
        return reply.status


class TlsBrowser(Browserless):
    """Browserless over https, trusting exactly the test's certificate."""

    def __init__(self, base_url: str, context: ssl.SSLContext) -> None:
        super().__init__(base_url)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar),
            urllib.request.HTTPSHandler(context=context),
        )


async def test_tls_with_cert_and_key_serves_https_and_wss(tmp_path):
    cert, key = self_signed(tmp_path)
    server = start_live_server(tmp_path / "data", args=["--cert", str(cert), "--key", str(key)])
    try:
        assert server.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        assert await asyncio.to_thread(status_of, server.url + "healthz", context) == 200
        # Plain HTTP on the TLS port gets nowhere.
        with pytest.raises(OSError):
            await asyncio.to_thread(status_of, server.url.replace("https", "http") + "healthz")

        browser = TlsBrowser(server.url, context)
        browser.signup("tls-user")
        session = next(c for c in browser.jar if c.name == "deskchat_session")
        assert session.secure, "over TLS the session cookie must be Secure"
        assert server.ws_url.startswith("wss://")
        ws = await connect(server, browser, ssl_context=context)
        await join(ws, "encrypted")
        await send(ws, {"type": "send", "room": "encrypted", "body": "over tls", "client_id": "t1"})
        assert (await expect(ws, "message"))["body"] == "over tls"
        await ws.close()
    finally:
        server.stop()


def test_tls_certificate_file_missing_is_a_clear_error(tmp_path):
    result = run_deskchat(
        "--headless",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path / "data"),
        "--cert",
        str(tmp_path / "nope.pem"),
        "--key",
        str(tmp_path / "nope.key"),
        timeout=60,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# --- check --deploy ---------------------------------------------------------------------------


def check_deploy(data_dir: Path, env: dict[str, str]) -> str:
    """``deskchat manage check --deploy`` on ``data_dir``: everything it printed."""
    result = run_deskchat("manage", "check", "--deploy", "--data-dir", str(data_dir), env=env)
    return result.stdout + result.stderr


def test_check_deploy_in_lan_mode_reports_only_what_docs_security_explains(tmp_path):
    output = check_deploy(
        tmp_path / "data", {"DESKCHAT_ALLOWED_HOSTS": "127.0.0.1,localhost,192.168.1.20"}
    )
    reported = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", output))
    explained = set(re.findall(r"`([a-z_]+\.[EW]\d+)`", SECURITY_DOC.read_text("utf-8")))
    assert not any(code.split(".")[1].startswith("E") for code in reported), output
    assert reported <= explained, f"unexplained in docs/security.md: {reported - explained}"


def test_tls_run_needs_no_secure_cookie_warnings(tmp_path):
    """With certificates the cookies are Secure, so those two warnings go away."""
    output = check_deploy(tmp_path / "data", {"DESKCHAT_SECURE_COOKIES": "1"})
    assert "security.W012" not in output and "security.W016" not in output
