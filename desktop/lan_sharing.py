"""Sharing the hosted chat on the local network, switched on and off while it runs.

Sharing is an extra listener on the running server (``EmbeddedServer.add_listener``), secured
with a certificate from Deskchat's own CA (the default), ``--cert``/``--key``, or, only when
``DESKCHAT_LAN_PLAIN_HTTP`` says so, plain HTTP. With it come the allowed hosts (changed in
place), the mDNS announcement (``desktop/discovery.py``), and a watch on the LAN addresses so
all three follow a new one. ``sharing_status`` is what the sharing panel shows, the sign-up
policy (who may create an account over the network) included.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatserver.config import ConfigError
from desktop import lan, logs, pinning, prefs
from desktop.certificates import LanCertificate
from desktop.embedded_server import ListenConfig

if TYPE_CHECKING:
    from desktop.host import Host

logger = logging.getLogger(__name__)

# How often a shared host looks at its LAN addresses (DHCP gave a new one, Wi-Fi changed): the
# allowed hosts, the certificate and the mDNS record follow them.
ADDRESS_CHECK_SECONDS = 5.0

# How the LAN listener is secured (the sharing panel says which).
OWN_CA = "own_ca"  # the default: a certificate from Deskchat's own CA in the data folder
GIVEN_CERT = "cert"  # --cert/--key
PLAIN_HTTP = "plain"  # DESKCHAT_LAN_PLAIN_HTTP: readable by anyone on the network


class LanSharing:
    """The host's sharing state. Uses the host's options, data folder, running server and
    prefs, and republishes the host's record (instance.json) when sharing changes."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self.lan_port: int | None = None  # set while sharing
        self.lan_error = ""
        self._announcer = None
        self._lan_lock = threading.Lock()
        self.certificate: LanCertificate | None = None
        self._lan_addresses: list[str] = []
        self._watch_stop: threading.Event | None = None
        self._watcher: threading.Thread | None = None

    @property
    def lan_security(self) -> str:
        """How the LAN listener is secured: ``OWN_CA``, ``GIVEN_CERT`` or ``PLAIN_HTTP``."""
        from django.conf import settings

        if self._host.options.cert:
            return GIVEN_CERT
        if settings.DESKCHAT["LAN_PLAIN_HTTP"]:
            return PLAIN_HTTP
        return OWN_CA

    def _lan_listen(self, port: int, addresses: list[str]) -> ListenConfig:
        security = self.lan_security
        options = self._host.options
        if security == GIVEN_CERT:
            return ListenConfig("0.0.0.0", port, cert=options.cert, key=options.key)
        if security == PLAIN_HTTP:
            return ListenConfig("0.0.0.0", port)
        data_dir = self._host.data_dir
        assert data_dir is not None
        if self.certificate is None:
            self.certificate = LanCertificate(data_dir)
        try:
            context = self.certificate.ensure(addresses)
        except (OSError, ValueError) as error:  # e.g. the data folder became read-only
            raise ConfigError(
                f"cannot prepare the certificate for sharing in {data_dir / 'tls'}: {error}"
            ) from None
        return ListenConfig("0.0.0.0", port, context=context)

    def set_lan(self, on: bool, *, port: int | None = None) -> dict[str, Any]:
        """Switch sharing on or off inside the running server; returns ``sharing_status()``."""
        from django.conf import settings

        server = self._host.server
        assert server is not None
        with self._lan_lock:
            self.lan_error = ""
            if on and self.lan_port is None:
                addresses = lan.lan_ipv4_addresses()
                # In place: AllowedHostsOriginValidator holds this very list object.
                settings.ALLOWED_HOSTS[:] = lan.allowed_hosts(addresses)
                try:
                    listen = self._lan_listen(
                        self._host.prefs.lan_port if port is None else port, addresses
                    )
                    self.lan_port = server.add_listener(listen)
                except ConfigError as error:
                    settings.ALLOWED_HOSTS[:] = lan.allowed_hosts([])
                    self.lan_error = str(error)
                    logger.warning("sharing failed: %s", error, extra=logs.FILE_ONLY)
                else:
                    self._lan_addresses = addresses
                    self._announce()
                    self._start_watching()
            elif not on and self.lan_port is not None:
                self._stop_watching()
                self._unannounce()
                server.remove_listener(self.lan_port)
                self.lan_port = None
                self._lan_addresses = []
                settings.ALLOWED_HOSTS[:] = lan.allowed_hosts([])
            self._host.publish()
        return self.sharing_status()

    def stop(self) -> None:
        """Stop following the addresses and announcing (the host is stopping its server)."""
        self._stop_watching()
        self._unannounce()

    def _announce(self) -> None:
        from chatserver import __version__
        from desktop import discovery

        interfaces = discovery.mdns_interfaces()
        addresses = interfaces if interfaces else lan.lan_ipv4_addresses()
        if not addresses:
            logger.info("no network interface to announce on")
            return
        self._announcer = discovery.Announcer(
            port=self.lan_port,
            addresses=addresses,
            version=__version__,
            scheme=self.lan_scheme,
            fingerprint=self.fingerprint,
        ).start()

    def _unannounce(self) -> None:
        if self._announcer is not None:
            self._announcer.stop()
            self._announcer = None

    # --- following the LAN addresses -----------------------------------------------------

    def _start_watching(self) -> None:
        self._watch_stop = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch_addresses,
            args=(self._watch_stop,),
            name="lan-addresses",
            daemon=True,
        )
        self._watcher.start()

    def _stop_watching(self) -> None:
        """Stop looking at the addresses; waits for a check under way (it may be
        re-announcing), so nothing else touches the announcer meanwhile."""
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(15)

    def _watch_addresses(self, stop: threading.Event) -> None:
        while not stop.wait(ADDRESS_CHECK_SECONDS):
            try:
                self.follow_addresses()
            except Exception:
                logger.exception("could not follow a change of the LAN addresses")

    def follow_addresses(self) -> bool:
        """When the LAN addresses changed: new allowed hosts, a certificate reissued for
        them, a new mDNS record. True if they had changed."""
        from django.conf import settings

        from desktop import discovery

        addresses = lan.lan_ipv4_addresses()
        with self._lan_lock:
            if self.lan_port is None:
                return False
            if addresses == self._lan_addresses:
                # Same addresses: only a certificate near its end is renewed.
                if self.certificate is not None:
                    self.certificate.follow(addresses)
                return False
            logger.info("LAN addresses changed: %s -> %s", self._lan_addresses, addresses)
            self._lan_addresses = addresses
            settings.ALLOWED_HOSTS[:] = lan.allowed_hosts(addresses)
            if self.certificate is not None:
                self.certificate.follow(addresses)
            if discovery.mdns_interfaces() is None:  # the record names the LAN addresses
                self._unannounce()
                self._announce()
            return True

    # --- what others see ------------------------------------------------------------------

    @property
    def lan_scheme(self) -> str:
        return "http" if self.lan_security == PLAIN_HTTP else "https"

    @property
    def fingerprint(self) -> str:
        """What colleagues compare: our CA's SHA-256 fingerprint, or that of ``--cert``."""
        from chatserver import tls

        security = self.lan_security
        data_dir = self._host.data_dir
        if security == OWN_CA:
            if self.certificate is not None and self.certificate.fingerprint:
                return self.certificate.fingerprint
            return (tls.ca_fingerprint(data_dir) if data_dir else None) or ""
        cert = self._host.options.cert
        if security == GIVEN_CERT and cert:
            return tls.fingerprint(Path(cert).read_bytes())
        return ""

    @property
    def announcer(self):
        return self._announcer

    def sharing_status(self) -> dict[str, Any]:
        """Everything the sharing panel shows."""
        security = self.lan_security
        host_prefs = self._host.prefs
        addresses = lan.lan_ipv4_addresses() if self.lan_port else []
        # With our own CA the link leads to the page that shows the fingerprint and how to
        # trust the CA, then on to the chat (chatserver/trust.py).
        # The fragment (never sent to the server) carries the fingerprint for `--join LINK`.
        fingerprint = self.fingerprint
        path = f"trust/#{pinning.link_fragment(fingerprint)}" if security == OWN_CA else ""
        urls = (
            [u + path for u in lan.join_urls(self.lan_port, addresses, self.lan_scheme)]
            if self.lan_port
            else []
        )
        return {
            "security": security,
            "fingerprint": fingerprint,
            "sharing": self.lan_port is not None,
            "port": self.lan_port or host_prefs.lan_port,
            "join": [{"url": u, "qr": lan.qr_svg(u)} for u in urls],
            "error": self.lan_error,
            "signup": host_prefs.signup,
            "invite_code": host_prefs.invite_code,
            "no_network": self.lan_port is not None and not addresses,
        }

    def set_signup(self, policy: str, *, new_code: bool = False) -> dict[str, Any]:
        """Who may create an account: ``open``, ``invite`` (with a code) or ``off``."""
        import secrets

        from django.conf import settings

        if policy not in prefs.SIGNUP_POLICIES:
            raise ValueError(f"unknown sign-up policy {policy!r}")
        host_prefs = self._host.prefs
        host_prefs.signup = policy
        if new_code:
            host_prefs.invite_code = secrets.token_urlsafe(6)
        # Read by the sign-up view at each request, so the change applies at once.
        settings.DESKCHAT["SIGNUP"] = policy
        settings.DESKCHAT["INVITE_CODE"] = host_prefs.invite_code
        self._host.save_prefs()
        return self.sharing_status()
