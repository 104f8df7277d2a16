"""Deskchat's own certificate authority, kept in the data folder, and the LAN certificate.

Sharing on the LAN serves HTTPS by default. Nobody has a certificate for an IP address in a
meeting room, so, like mkcert, Deskchat makes a small CA on first use (``tls/ca.key``, readable
by the owner only, and ``tls/ca.crt``, which colleagues download and trust once) and signs a
server certificate for this computer's current LAN addresses and mDNS name with it, issued
again whenever the addresses change. Made with the ``cryptography`` package, never by running
a command.

The CA is *name-constrained* to ``.local`` and ``localhost`` host names: a colleague who
trusts it does not trust it for any other DNS name, so even a stolen ``ca.key`` cannot
impersonate their bank or mail (verifiers that check name constraints on a root refuse it).
IP addresses are left unconstrained on purpose: offices use public and documentation ranges
too, and the certificate must name whatever address the host has.

What people compare is the CA's SHA-256 fingerprint (:func:`fingerprint`): it is on the join
page, in the host's sharing panel and in the mDNS record ``--join`` pins; it stays the same
when the server certificate is reissued.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TLS_DIR = "tls"
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"

CA_DAYS = 10 * 365
# Below Apple's 825-day ceiling for certificates under a user-installed root.
SERVER_DAYS = 397
RENEW_BEFORE = datetime.timedelta(days=30)

# The only DNS names the CA may vouch for (mDNS names and this computer).
PERMITTED_DNS = ("local", "localhost")


@dataclass(frozen=True)
class ServerCertificate:
    """The files a TLS listener needs, and what people compare."""

    cert: Path
    key: Path
    ca_cert: Path
    fingerprint: str  # of the CA: stable across reissues
    names: tuple[str, ...]  # what the certificate covers (addresses and host names)


def host_name() -> str:
    """This computer's name as mDNS announces it, without ``.local`` (desktop/discovery.py)."""
    return socket.gethostname().split(".")[0] or "deskchat"


def tls_dir(data_dir: Path) -> Path:
    return Path(data_dir) / TLS_DIR


def fingerprint(pem: bytes) -> str:
    """SHA-256 of the certificate, ``AB:CD:...`` as browsers and OS dialogs show it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def ca_fingerprint(data_dir: Path) -> str | None:
    """The CA's fingerprint, or None before the CA exists."""
    path = tls_dir(data_dir) / CA_CERT
    return fingerprint(path.read_bytes()) if path.is_file() else None


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only (0600 from creation: never briefly wider)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def ensure_ca(data_dir: Path, *, label: str = "Deskchat") -> tuple[Path, Path]:
    """The CA's certificate and key, created on first use; returns their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tls_dir(data_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if cert_path.is_file() and key_path.is_file():
        os.chmod(key_path, 0o600)  # a copy restored with looser rights is tightened again
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Deskchat"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{label} local CA"[:64]),
        ]
    )
    now = _now()
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in PERMITTED_DNS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def names_for(addresses: Iterable[str], host_name: str) -> tuple[str, ...]:
    """What the server certificate must cover: the LAN addresses, the mDNS name, loopback."""
    names = [*addresses, "127.0.0.1"]
    if host_name:
        names.append(f"{host_name}.local")
    names.append("localhost")
    seen: list[str] = []
    for item in names:
        if item not in seen:
            seen.append(item)
    return tuple(seen)


def covered_names(pem: bytes) -> tuple[str, ...]:
    """The addresses and DNS names in a certificate's subjectAltName, as ``names_for`` lists."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return (*ips, *san.get_values_for_type(x509.DNSName))


def server_certificate(
    data_dir: Path, *, addresses: Iterable[str], host_name: str
) -> ServerCertificate:
    """A server certificate for exactly these addresses and this host name, signed by the CA:
    the one on disk when it still fits (same names, same CA, not near expiry), else a new one.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert_path, ca_key_path = ensure_ca(data_dir)
    ca_pem = ca_cert_path.read_bytes()
    folder = tls_dir(data_dir)
    cert_path, key_path = folder / SERVER_CERT, folder / SERVER_KEY
    wanted = names_for(addresses, host_name)
    result = ServerCertificate(cert_path, key_path, ca_cert_path, fingerprint(ca_pem), wanted)
    if _still_fits(cert_path, key_path, ca_pem, wanted):
        os.chmod(key_path, 0o600)
        return result

    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for item in wanted:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(item)))
        except ValueError:
            alt.append(x509.DNSName(item))
    common = f"{host_name}.local" if host_name else wanted[0]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common[:64])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return result


def expires_soon(cert_path: Path) -> bool:
    """True when the certificate ends within ``RENEW_BEFORE`` (or cannot be read)."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return True
    return cert.not_valid_after_utc - _now() <= RENEW_BEFORE


def _still_fits(cert_path: Path, key_path: Path, ca_pem: bytes, wanted: tuple[str, ...]) -> bool:
    from cryptography import x509

    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        ca = x509.load_pem_x509_certificate(ca_pem)
        cert.verify_directly_issued_by(ca)
        names = covered_names(cert_path.read_bytes())
    except Exception:  # unreadable, no names, or signed by a CA that was replaced
        return False
    fresh = cert.not_valid_after_utc - _now() > RENEW_BEFORE
    return fresh and set(names) == set(wanted)
