"""Deskchat's own CA and the LAN certificate (chatserver/tls.py, desktop/certificates.py).

Files and their permissions, reuse and reissue, the CA's name constraints as a verifier
enforces them, and a running server that follows a new LAN address: its next handshake on
that address verifies against the CA (in a network namespace of the test's own).
"""

from __future__ import annotations

import datetime
import http.client
import os
import socket
import ssl
import stat
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification

from chatserver import tls
from tests.desktop.launcher import free_port
from tests.support.netns import lan_namespace
from tests.support.server import run_deskchat, start_live_server
from tests.support.tools import require_executable


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_ca_is_made_once_with_private_keys_readable_by_the_owner_only(tmp_path):
    issued = tls.server_certificate(tmp_path, addresses=["10.1.2.3"], host_name="alice-pc")
    folder = tmp_path / "tls"
    assert mode(folder) == 0o700
    assert mode(folder / "ca.key") == 0o600 and mode(folder / "server.key") == 0o600
    ca = load(folder / "ca.crt")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (
        issued.fingerprint
        == tls.ca_fingerprint(tmp_path)
        == tls.fingerprint((folder / "ca.crt").read_bytes())
    )
    assert len(issued.fingerprint) == 95  # 32 bytes as AB:CD:...
    # A second use keeps the CA and the certificate (same names).
    again = tls.server_certificate(tmp_path, addresses=["10.1.2.3"], host_name="alice-pc")
    assert again.fingerprint == issued.fingerprint
    assert load(again.cert).serial_number == load(issued.cert).serial_number
    # A key copied back with looser rights is tightened at the next use.
    os.chmod(folder / "ca.key", 0o644)
    os.chmod(folder / "server.key", 0o644)
    tls.server_certificate(tmp_path, addresses=["10.1.2.3"], host_name="alice-pc")
    assert mode(folder / "ca.key") == 0o600 and mode(folder / "server.key") == 0o600


def test_the_certificate_names_the_addresses_and_the_mdns_name_and_follows_them(tmp_path):
    first = tls.server_certificate(tmp_path, addresses=["10.1.2.3"], host_name="alice-pc")
    assert set(tls.covered_names(first.cert.read_bytes())) == {
        "10.1.2.3",
        "127.0.0.1",
        "alice-pc.local",
        "localhost",
    }
    serial = load(first.cert).serial_number
    moved = tls.server_certificate(tmp_path, addresses=["192.168.7.9"], host_name="alice-pc")
    assert "192.168.7.9" in tls.covered_names(moved.cert.read_bytes())
    assert "10.1.2.3" not in tls.covered_names(moved.cert.read_bytes())
    assert load(moved.cert).serial_number != serial
    assert moved.fingerprint == first.fingerprint  # what people compared stays the same
    load(moved.cert).verify_directly_issued_by(load(moved.ca_cert))


def _verify(ca: x509.Certificate, leaf: x509.Certificate, name: x509.GeneralName) -> None:
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(datetime.datetime.now(datetime.UTC))
        .build_server_verifier(name)
    )
    verifier.verify(leaf, [])


def _leaf_for(tmp_path, name: x509.GeneralName) -> x509.Certificate:
    """A certificate for ``name`` signed with the CA's key: what a thief of ca.key could make."""
    ca = load(tmp_path / "tls" / "ca.crt")
    ca_key = serialization.load_pem_private_key((tmp_path / "tls" / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([name]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def test_the_ca_cannot_vouch_for_other_websites(tmp_path):
    issued = tls.server_certificate(tmp_path, addresses=["10.1.2.3"], host_name="alice-pc")
    ca = load(issued.ca_cert)
    _verify(ca, load(issued.cert), x509.DNSName("alice-pc.local"))
    import ipaddress

    _verify(ca, load(issued.cert), x509.IPAddress(ipaddress.ip_address("10.1.2.3")))
    bank = _leaf_for(tmp_path, x509.DNSName("bank.example.com"))
    with pytest.raises(verification.VerificationError):
        _verify(ca, bank, x509.DNSName("bank.example.com"))


@pytest.mark.process
def test_a_running_server_reissues_its_certificate_for_a_new_address(tmp_path):
    ip = require_executable("ip", "apt-get install iproute2")
    with lan_namespace() as address:
        port = free_port()
        server = start_live_server(
            tmp_path / "data",
            args=["--lan", "--port", str(port)],
            env={"DESKCHAT_MDNS_INTERFACES": address},
        )
        try:
            ca = tmp_path / "data" / "tls" / "ca.crt"
            trusting = ssl.create_default_context(cafile=str(ca))
            assert _handshake(address, port, trusting) is None
            new_address = "10.77.0.9"
            server_cert = tmp_path / "data" / "tls" / "server.crt"
            assert new_address not in tls.covered_names(server_cert.read_bytes())
            done = subprocess.run(
                [ip, "addr", "add", f"{new_address}/24", "dev", "lan0"], capture_output=True
            )
            assert done.returncode == 0, done.stderr
            # The host looks at its addresses every few seconds (desktop/host.py): wait for
            # the positive marker, a handshake on the new address that verifies.
            deadline = time.monotonic() + 60
            while (problem := _handshake(new_address, port, trusting)) is not None:
                assert time.monotonic() < deadline, f"never reissued: {problem}"
                time.sleep(0.2)
            names = tls.covered_names(server_cert.read_bytes())
            assert {address, new_address} <= set(names)
            # And the new address is an allowed host (the request is answered, not refused).
            connection = http.client.HTTPSConnection(
                new_address, port, timeout=10, context=trusting
            )
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            connection.close()
        finally:
            assert server.stop() == 0


def _handshake(host: str, port: int, context: ssl.SSLContext) -> str | None:
    """None when a TLS handshake with ``host`` verifies against the CA, else why not."""
    try:
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as error:
        return error.verify_message


@pytest.mark.process
def test_a_certificate_that_cannot_be_made_is_said_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "tls").write_text("not a folder")  # as if something else took the name
    result = run_deskchat(
        "--headless",
        "--lan",
        "--port",
        str(free_port()),
        "--data-dir",
        str(data),
        env={"DESKCHAT_MDNS_INTERFACES": "127.0.0.1"},
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("deskchat: cannot prepare the certificate for sharing in "), lines


def test_a_certificate_near_its_end_is_renewed_while_sharing(tmp_path, monkeypatch):
    from desktop.certificates import LanCertificate

    lan_cert = LanCertificate(tmp_path, host_name="pc")
    lan_cert.ensure(["10.1.2.3"])
    serial = load(lan_cert.current.cert).serial_number
    assert lan_cert.follow(["10.1.2.3"]) is False  # same addresses, far from its end
    # 397-day certificates: with a renewal window longer than that, it is "near its end".
    monkeypatch.setattr(tls, "RENEW_BEFORE", datetime.timedelta(days=400))
    assert lan_cert.follow(["10.1.2.3"]) is True
    assert load(lan_cert.current.cert).serial_number != serial
    assert lan_cert.fingerprint == tls.ca_fingerprint(tmp_path)
