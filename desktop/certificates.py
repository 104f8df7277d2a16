"""HTTPS for LAN sharing with Deskchat's own CA (``chatserver/tls.py`` makes the files).

``LanCertificate`` keeps the server certificate in step with this computer's LAN addresses:
the listener's TLS context is :class:`ReloadableContext`, which Twisted asks for at every new
connection, so a certificate reissued for a changed address is served from the next
handshake on, without closing the listener or the sockets already open.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from chatserver import tls

logger = logging.getLogger(__name__)


def context_options(cert: Path, key: Path, ca: Path) -> Any:
    """Twisted ``CertificateOptions`` for a PEM certificate and key, sending the CA along.

    The CA in the chain costs a few hundred bytes per handshake and lets a client that pins
    the CA see it (``--join``'s window, Chromium's ``--ignore-certificate-errors-spki-list``).
    """
    from twisted.internet import ssl

    own = ssl.PrivateCertificate.loadPEM(cert.read_text() + key.read_text())
    return ssl.CertificateOptions(
        privateKey=own.privateKey.original,
        certificate=own.original,
        extraCertChain=[ssl.Certificate.loadPEM(ca.read_text()).original],
    )


class ReloadableContext:
    """An old-style Twisted context factory whose certificate can be replaced while serving.

    Twisted calls ``getContext()`` for each new TLS connection (``_ContextFactoryToConnection
    Factory``), so after :meth:`load` new handshakes use the new certificate.
    """

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self._options = context_options(cert, key, ca)

    def load(self, cert: Path, key: Path, ca: Path) -> None:
        self._options = context_options(cert, key, ca)

    def getContext(self) -> Any:  # Twisted's name
        return self._options.getContext()


class LanCertificate:
    """The LAN listener's certificate: issued for the current addresses, reissued on change."""

    def __init__(self, data_dir: Path, host_name: str | None = None) -> None:
        self.data_dir = data_dir
        self.host_name = host_name or tls.host_name()
        self.current: tls.ServerCertificate | None = None
        self.context: ReloadableContext | None = None
        self._lock = threading.Lock()

    def ensure(self, addresses: list[str]) -> ReloadableContext:
        """The context for a listener serving ``addresses`` (creating the CA on first use)."""
        with self._lock:
            self.current = tls.server_certificate(
                self.data_dir, addresses=addresses, host_name=self.host_name
            )
            files = (self.current.cert, self.current.key, self.current.ca_cert)
            if self.context is None:
                self.context = ReloadableContext(*files)
            else:
                self.context.load(*files)
            return self.context

    def follow(self, addresses: list[str]) -> bool:
        """Reissue when ``addresses`` are not what the certificate covers, or it is about to
        expire (a host that shares for a year); True if it did."""
        wanted = tls.names_for(addresses, self.host_name)
        current = self.current
        if (
            current is not None
            and set(current.names) == set(wanted)
            and not tls.expires_soon(current.cert)
        ):
            return False
        self.ensure(addresses)
        logger.info("LAN certificate reissued for %s", ", ".join(wanted))
        return True

    @property
    def fingerprint(self) -> str:
        return self.current.fingerprint if self.current is not None else ""
