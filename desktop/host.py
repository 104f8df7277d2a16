"""Hosting a chat from this computer: the embedded server plus everything around it.

``Host`` is what the window (and headless mode) drive: the instance lock, the server on
loopback, optional sharing on the LAN (an extra listener, the allowed hosts, the mDNS
announcement), the sign-up policy, and the desktop's own account.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatserver.config import ConfigError
from desktop import lan, logs, pinning, prefs, shutdown
from desktop.certificates import LanCertificate
from desktop.embedded_server import EmbeddedServer, ListenConfig
from desktop.lock import InstanceLock

logger = logging.getLogger(__name__)


# How often a shared host looks at its LAN addresses (DHCP gave a new one, Wi-Fi changed): the
# allowed hosts, the certificate and the mDNS record follow them.
ADDRESS_CHECK_SECONDS = 5.0
WILDCARD_HOSTS = {"0.0.0.0", ""}

# How the LAN listener is secured (the sharing panel says which).
OWN_CA = "own_ca"  # the default: a certificate from Deskchat's own CA in the data folder
GIVEN_CERT = "cert"  # --cert/--key
PLAIN_HTTP = "plain"  # DESKCHAT_LAN_PLAIN_HTTP: readable by anyone on the network


@dataclass
class LaunchOptions:
    """What the command line asked for (see ``desktop.cli``)."""

    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    lan: bool = False
    lan_port: int | None = None
    debug: bool = False
    cert: str | None = None
    key: str | None = None
    # False only for a headless run that never shares (Twisted may then leave TLS out).
    can_share: bool = True
    extra_publish: dict[str, Any] = field(default_factory=dict)


def _closes_connections(method):
    """Called from the window's worker threads: close that thread's database connection after
    each call, so none is left open when the process ends."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        finally:
            if threading.current_thread() is not threading.main_thread():
                from django.db import connections

                connections.close_all()

    return wrapper


class Host:
    """One hosted chat for the life of the process (see ``start`` and ``stop``)."""

    def __init__(self, options: LaunchOptions) -> None:
        self.options = options
        self.data_dir: Path | None = None
        self.lock: InstanceLock | None = None
        self.server: EmbeddedServer | None = None
        self.url = ""
        self.prefs = prefs.Prefs()
        self.lan_port: int | None = None  # set while sharing
        self.lan_error = ""
        self._announcer = None
        self._lan_lock = threading.Lock()
        self._published: dict[str, Any] = {}
        self.certificate: LanCertificate | None = None
        self._lan_addresses: list[str] = []
        self._watch_stop: threading.Event | None = None
        self._watcher: threading.Thread | None = None
        self._damaged = False  # the database was found damaged (start check or while serving)

    # --- start / stop ---------------------------------------------------------------------

    def prepare(self) -> Path:
        """Resolve and lock the data folder, read the host's choices (before Django starts)."""
        from desktop import bootstrap

        bootstrap.configure_environment(data_dir=self.options.data_dir, debug=self.options.debug)
        if self.options.cert:
            # Every listener serves TLS then, so the cookies can be marked Secure.
            os.environ.setdefault("DESKCHAT_SECURE_COOKIES", "1")
        from chatserver.config import resolve_data_dir

        self.data_dir = resolve_data_dir()
        if not os.access(self.data_dir, os.W_OK):
            raise ConfigError(f"the data folder {self.data_dir} is not writable")
        self.lock = InstanceLock(self.data_dir)
        try:
            self.lock.acquire()
        except OSError as exc:
            raise ConfigError(f"cannot lock the data folder {self.data_dir}: {exc}") from None
        shutdown.checkpoint()  # the caller's stop() releases the lock
        self.prefs = prefs.load(self.data_dir)
        if self.options.lan_port:
            self.prefs.lan_port = self.options.lan_port
        self.prefs.apply_to_environment()
        # The hosts the server answers to, decided before Django reads its settings; changed
        # in place later when sharing is switched on or off.
        addresses = lan.lan_ipv4_addresses() if self._shares_at_start() else []
        os.environ.setdefault("DESKCHAT_ALLOWED_HOSTS", ",".join(lan.allowed_hosts(addresses)))
        return self.data_dir

    def _shares_at_start(self) -> bool:
        return self.options.lan or self.options.host in WILDCARD_HOSTS

    def start(self) -> str:
        """Set Django up, migrate, serve; returns the local URL once it answers.

        A stop signal meanwhile ends it at the next step (``shutdown.StartCancelled``), with
        everything opened so far closed again.
        """
        from desktop import bootstrap

        assert self.lock is not None and self.data_dir is not None, "prepare() first"
        try:
            with bootstrap.paused_gc():
                # Without --cert, Twisted can leave pyOpenSSL out (see bootstrap).
                bootstrap.setup_django(tls=bool(self.options.cert) or self.options.can_share)
                shutdown.checkpoint()
                # Importing the ASGI app runs django.setup() again, which resets logging: import
                # it first, then install our handlers.
                import chatserver.asgi  # noqa: F401

                logs.install(self.data_dir, debug=self.options.debug)
                shutdown.checkpoint()
                if self.lock.unclean:
                    logger.info("the last run did not stop cleanly: checking the database")
                    self._damaged = True  # until the check says otherwise
                    bootstrap.check_database()
                    self._damaged = False
                self._watch_database()
                bootstrap.migrate()
                shared = self.options.host in WILDCARD_HOSTS
                shutdown.checkpoint()
                self.server = EmbeddedServer(
                    ListenConfig(
                        # Headless --lan: this computer on loopback (plain HTTP is fine there:
                        # loopback is a secure context), the network through the LAN listener.
                        host="127.0.0.1" if shared else self.options.host,
                        port=0 if shared else self.options.port,
                        cert=self.options.cert,
                        key=self.options.key,
                    )
                )
                self.url = self.server.start()  # checks for a stop while it waits
                if shared:
                    self.set_lan(True, port=self.options.port)
                    if self.lan_error:
                        raise ConfigError(self.lan_error)
                self.publish()
                shutdown.checkpoint()
        except BaseException:
            self.stop()
            raise
        logger.info("serving %s from %s", self.url, self.data_dir)
        return self.url

    def _watch_database(self) -> None:
        """Say a database fault met while serving (disk full, damaged file) on the console,
        in the words the log has too (chatserver/chat/health.py)."""
        from chatserver.chat import health

        if self._said_fault not in health.listeners:
            health.listeners.append(self._said_fault)

    def _said_fault(self, fault: Any, sentence: str) -> None:
        from chatserver.chat.health import DAMAGED

        if fault.kind == DAMAGED:
            self._damaged = True
        print(f"deskchat: {sentence}", file=sys.stderr, flush=True)

    def publish(self, **extra: Any) -> None:
        """Tell later launches where this instance is (instance.json)."""
        self._published.update(extra)
        if self.lock is not None:
            self.lock.publish(url=self.url, lan_port=self.lan_port, **self._published)

    def stop(self) -> None:
        """Stop announcing, close every socket and the database, release the lock."""
        self._stop_watching()
        if self._announcer is not None:
            self._announcer.stop()
            self._announcer = None
        if self.server is not None:
            self.server.stop()
            self.server = None
            logger.info("stopped")
        if self.lock is not None:
            # A damaged database keeps the instance record: the next start checks it again
            # and refuses, until a backup is restored (which clears the record).
            self.lock.release(keep_record=self._damaged)
            self.lock = None
        if "chatserver.chat.health" in sys.modules:
            from chatserver.chat import health

            with contextlib.suppress(ValueError):
                health.listeners.remove(self._said_fault)

    # --- sharing on the LAN ---------------------------------------------------------------

    @property
    def lan_security(self) -> str:
        """How the LAN listener is secured: ``OWN_CA``, ``GIVEN_CERT`` or ``PLAIN_HTTP``."""
        from django.conf import settings

        if self.options.cert:
            return GIVEN_CERT
        if settings.DESKCHAT["LAN_PLAIN_HTTP"]:
            return PLAIN_HTTP
        return OWN_CA

    def _lan_listen(self, port: int, addresses: list[str]) -> ListenConfig:
        security = self.lan_security
        if security == GIVEN_CERT:
            return ListenConfig("0.0.0.0", port, cert=self.options.cert, key=self.options.key)
        if security == PLAIN_HTTP:
            return ListenConfig("0.0.0.0", port)
        assert self.data_dir is not None
        if self.certificate is None:
            self.certificate = LanCertificate(self.data_dir)
        try:
            context = self.certificate.ensure(addresses)
        except (OSError, ValueError) as error:  # e.g. the data folder became read-only
            raise ConfigError(
                f"cannot prepare the certificate for sharing in {self.data_dir / 'tls'}: {error}"
            ) from None
        return ListenConfig("0.0.0.0", port, context=context)

    def set_lan(self, on: bool, *, port: int | None = None) -> dict[str, Any]:
        """Switch sharing on or off inside the running server; returns ``sharing_status()``."""
        from django.conf import settings

        assert self.server is not None
        with self._lan_lock:
            self.lan_error = ""
            if on and self.lan_port is None:
                addresses = lan.lan_ipv4_addresses()
                # In place: AllowedHostsOriginValidator holds this very list object.
                settings.ALLOWED_HOSTS[:] = lan.allowed_hosts(addresses)
                try:
                    listen = self._lan_listen(
                        self.prefs.lan_port if port is None else port, addresses
                    )
                    self.lan_port = self.server.add_listener(listen)
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
                self.server.remove_listener(self.lan_port)
                self.lan_port = None
                self._lan_addresses = []
                settings.ALLOWED_HOSTS[:] = lan.allowed_hosts([])
            self.publish()
        return self.sharing_status()

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

    @property
    def lan_scheme(self) -> str:
        return "http" if self.lan_security == PLAIN_HTTP else "https"

    @property
    def fingerprint(self) -> str:
        """What colleagues compare: our CA's SHA-256 fingerprint, or that of ``--cert``."""
        from chatserver import tls

        security = self.lan_security
        if security == OWN_CA:
            if self.certificate is not None and self.certificate.fingerprint:
                return self.certificate.fingerprint
            return (tls.ca_fingerprint(self.data_dir) if self.data_dir else None) or ""
        if security == GIVEN_CERT and self.options.cert:
            return tls.fingerprint(Path(self.options.cert).read_bytes())
        return ""

    @property
    def announcer(self):
        return self._announcer

    def sharing_status(self) -> dict[str, Any]:
        """Everything the sharing panel shows."""
        security = self.lan_security
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
            "port": self.lan_port or self.prefs.lan_port,
            "join": [{"url": u, "qr": lan.qr_svg(u)} for u in urls],
            "error": self.lan_error,
            "signup": self.prefs.signup,
            "invite_code": self.prefs.invite_code,
            "no_network": self.lan_port is not None and not addresses,
        }

    def set_signup(self, policy: str, *, new_code: bool = False) -> dict[str, Any]:
        """Who may create an account: ``open``, ``invite`` (with a code) or ``off``."""
        import secrets

        from django.conf import settings

        if policy not in prefs.SIGNUP_POLICIES:
            raise ValueError(f"unknown sign-up policy {policy!r}")
        self.prefs.signup = policy
        if new_code:
            self.prefs.invite_code = secrets.token_urlsafe(6)
        # Read by the sign-up view at each request, so the change applies at once.
        settings.DESKCHAT["SIGNUP"] = policy
        settings.DESKCHAT["INVITE_CODE"] = self.prefs.invite_code
        self.save_prefs()
        return self.sharing_status()

    def save_prefs(self) -> None:
        assert self.data_dir is not None
        prefs.save(self.data_dir, self.prefs)

    # --- the desktop's own account --------------------------------------------------------

    @_closes_connections
    def owner(self):
        """The account this window signs in as, if one was recorded and still exists."""
        from django.contrib.auth import get_user_model

        if self.prefs.owner_id is None:
            return None
        return get_user_model().objects.filter(pk=self.prefs.owner_id, is_active=True).first()

    @_closes_connections
    def connected_others(self) -> int:
        """How many people other than the desktop's own user have the chat open right now
        (the ones a quit would cut off); any of their tabs and devices counts once."""
        from chatserver.chat.models import Connection

        live = Connection.objects.all()
        if self.prefs.owner_id is not None:
            live = live.exclude(user_id=self.prefs.owner_id)
        return live.values("user_id").distinct().count()

    @_closes_connections
    def has_accounts(self) -> bool:
        from django.contrib.auth import get_user_model

        return get_user_model().objects.exists()

    def set_owner(self, user) -> None:
        self.prefs.owner_id = user.pk
        self.prefs.owner_username = user.get_username()
        self.save_prefs()
        logger.info("the desktop's own account is now %r", self.prefs.owner_username)

    @_closes_connections
    def login_url(self) -> str:
        """A URL that signs the window in as its owner, once (see accounts/launch_token.py)."""
        from chatserver.accounts import launch_token

        user = self.owner()
        if user is None:
            raise LookupError("no desktop account yet")
        return f"{self.url}accounts/desktop-login/?token={launch_token.issue(user.pk)}"

    @_closes_connections
    def create_owner(self, username: str, password1: str, password2: str) -> dict[str, list[str]]:
        """Create the desktop's account (the first one is the administrator); errors by field."""
        from chatserver.accounts.forms import SignupForm
        from chatserver.accounts.services import user_create_from_signup

        form = SignupForm(
            {"username": username, "password1": password1, "password2": password2},
            require_invite=False,
        )
        if not form.is_valid():
            return {k: [str(m) for m in v] for k, v in form.errors.items()}
        self.set_owner(user_create_from_signup(form=form))
        return {}

    @_closes_connections
    def adopt_owner(self, username: str, password: str) -> dict[str, list[str]]:
        """Make an existing account the desktop's own, after checking its password."""
        from django.contrib.auth import authenticate

        user = authenticate(username=username, password=password)
        if user is None:
            return {"__all__": ["That username and password do not match."]}
        self.set_owner(user)
        return {}
