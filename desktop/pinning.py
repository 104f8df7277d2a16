"""``--join`` trusts another Deskchat by fingerprint, and keeps trusting only that one.

A shared Deskchat announces its scheme and the SHA-256 fingerprint of its CA (or of its
``--cert`` certificate) in its mDNS record (desktop/discovery.py). Before the window opens
such a server, :func:`check` makes sure the server really holds that certificate: its CA, as
downloaded from it, has that fingerprint and signed the certificate it presents for that very
address (or its own certificate has it). The fingerprint is then remembered under the server's
name (``pinned-servers.json`` in the data folder); a server that later answers under that name
with another certificate is refused, in words, instead of being opened. The window accepts the
certificate chain carrying exactly that fingerprint, and nothing else
(``pywebview_internals.accept_pinned_certificates``).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from chatserver import tls

PINS_FILE = "pinned-servers.json"
TIMEOUT = 10.0


class PinRefused(Exception):
    """The server is not the one its announcement (or our memory of it) says: why, in words
    (translated: call inside ``pages.activated()``)."""


def der_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).digest()
    return ":".join(f"{b:02X}" for b in digest)


def load(data_dir: Path) -> dict[str, str]:
    try:
        pins = json.loads((data_dir / PINS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in pins.items()} if isinstance(pins, dict) else {}


def remember(data_dir: Path, name: str, fingerprint: str) -> None:
    pins = load(data_dir)
    pins[name] = fingerprint
    tmp = data_dir / (PINS_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(pins, fh, indent=1, sort_keys=True)
    os.replace(tmp, data_dir / PINS_FILE)


def check(data_dir: Path, *, name: str, url: str, fingerprint: str) -> str:
    """The fingerprint the window may accept for ``url``; raises :class:`PinRefused`."""
    known = load(data_dir).get(name)
    if not fingerprint:
        raise PinRefused(
            _(
                "%(name)s offers HTTPS but announces no certificate fingerprint, so Deskchat "
                "cannot tell it from an impostor. Ask its host to update Deskchat."
            )
            % {"name": name}
        )
    if known is not None and known != fingerprint:
        raise PinRefused(
            _(
                "The certificate of %(name)s has changed since you last joined it (it was "
                "%(known)s, it is now %(new)s). Someone else may be answering in its name. Ask "
                "the host whether they reinstalled Deskchat; until then it is not opened."
            )
            % {"name": name, "known": known, "new": fingerprint}
        )
    verify(url, fingerprint)
    if known is None:
        remember(data_dir, name, fingerprint)
    return fingerprint


def verify(url: str, fingerprint: str) -> None:
    """The server at ``url`` holds the certificate (or CA) with ``fingerprint``."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        leaf = _presented_certificate(host, port)
        if der_fingerprint(leaf) == fingerprint:
            return  # a --cert server: its own certificate is the one announced
        ca_pem = _download_ca(f"{parts.scheme}://{parts.netloc}/trust/deskchat-ca.crt")
    except OSError as error:
        raise PinRefused(_unreachable(url, error)) from None
    if tls.fingerprint(ca_pem) != fingerprint:
        raise PinRefused(
            _(
                "%(url)s does not hold the certificate it announces (fingerprint "
                "%(fingerprint)s). Someone else may be answering in its name; it is not opened."
            )
            % {"url": url, "fingerprint": fingerprint}
        )
    trusting = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    try:
        with (
            socket.create_connection((host, port), timeout=TIMEOUT) as raw,
            trusting.wrap_socket(raw, server_hostname=host),
        ):
            pass
    except ssl.SSLCertVerificationError as error:
        raise PinRefused(
            _(
                "%(url)s presents a certificate its announced authority did not issue for this "
                "address (%(error)s); it is not opened."
            )
            % {"url": url, "error": error.verify_message}
        ) from None
    except OSError as error:
        raise PinRefused(_unreachable(url, error)) from None


def _unreachable(url: str, error: OSError) -> str:
    return _("Cannot reach %(url)s to check its certificate: %(error)s") % {
        "url": url,
        "error": error,
    }


def _presented_certificate(host: str, port: int) -> bytes:
    unverified = ssl._create_unverified_context()
    with (
        socket.create_connection((host, port), timeout=TIMEOUT) as raw,
        unverified.wrap_socket(raw, server_hostname=host) as wrapped,
    ):
        return wrapped.getpeercert(binary_form=True) or b""


def _download_ca(url: str) -> bytes:
    """Read without trusting: what it says is checked against the fingerprint after."""
    unverified = ssl._create_unverified_context()
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=unverified) as reply:
        return reply.read(64 * 1024)


FRAGMENT_KEY = "sha256"


def link_fragment(fingerprint: str) -> str:
    """What a join link carries after ``#``: the fingerprint, hex without colons."""
    return f"{FRAGMENT_KEY}={fingerprint.replace(':', '').lower()}"


def from_link(link: str):
    """The server a join link names (``https://HOST:PORT/trust/#sha256=HEX``), as discovery
    would have found it; raises ``ValueError`` saying what is wrong with the link."""
    import re
    from urllib.parse import parse_qs

    from desktop.discovery import Found

    parts = urlsplit(link)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{link!r} is not an https:// join link")
    digest = parse_qs(parts.fragment).get(FRAGMENT_KEY, [""])[0]
    if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        raise ValueError(
            f"the join link {link!r} carries no certificate fingerprint "
            f"(#{FRAGMENT_KEY}=...): copy the whole link from the host's sharing panel"
        )
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
    port = parts.port or 443
    return Found(
        name=f"{parts.hostname}:{port}",
        addresses=(parts.hostname,),
        port=port,
        scheme="https",
        fingerprint=fingerprint,
    )


def chain_is_pinned(url: str, chain: list[bytes], fingerprint: str) -> bool:
    """Whether a presented chain (DER, server's certificate first) is the pinned one for
    ``url``: the server's certificate itself has ``fingerprint``, or it was issued for this
    host by the CA with ``fingerprint``, checked by signature, dates, names and constraints.
    The CA certificate is public: merely carrying it in a chain proves nothing.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.x509 import verification

    if not chain:
        return False
    if der_fingerprint(chain[0]) == fingerprint:
        return True
    authorities = [der for der in chain[1:] if der_fingerprint(der) == fingerprint]
    if not authorities:
        return False
    host = urlsplit(url).hostname or ""
    try:
        subject: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    try:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store([x509.load_der_x509_certificate(authorities[0])]))
            .time(datetime.datetime.now(datetime.UTC))
            .build_server_verifier(subject)
        )
        verifier.verify(x509.load_der_x509_certificate(chain[0]), [])
    except (verification.VerificationError, ValueError):
        return False
    return True
