"""Hosting a chat from this computer: the embedded server plus everything around it.

``Host`` is what the window (and headless mode) drive: the instance lock, the data folder's
choices (prefs), the server on loopback, its start and stop, and the record later launches
read (instance.json). It composes the two parts a window works with: ``host.sharing``, the
chat on the LAN and the sign-up policy (``desktop/lan_sharing.py``), and ``host.account``,
the desktop's own account (``desktop/owner_account.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatserver.config import ConfigError
from desktop import lan, logs, prefs, shutdown
from desktop.embedded_server import EmbeddedServer, ListenConfig
from desktop.lan_sharing import LanSharing
from desktop.lock import InstanceLock
from desktop.owner_account import OwnerAccount

logger = logging.getLogger(__name__)

WILDCARD_HOSTS = {"0.0.0.0", ""}


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


class Host:
    """One hosted chat for the life of the process (see ``start`` and ``stop``)."""

    def __init__(self, options: LaunchOptions) -> None:
        self.options = options
        self.data_dir: Path | None = None
        self.lock: InstanceLock | None = None
        self.server: EmbeddedServer | None = None
        self.url = ""
        self.prefs = prefs.Prefs()
        self.sharing = LanSharing(self)
        self.account = OwnerAccount(self)
        self._published: dict[str, Any] = {}
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
                    self.sharing.set_lan(True, port=self.options.port)
                    if self.sharing.lan_error:
                        raise ConfigError(self.sharing.lan_error)
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
            self.lock.publish(url=self.url, lan_port=self.sharing.lan_port, **self._published)

    def stop(self) -> None:
        """Stop announcing, close every socket and the database, release the lock."""
        self.sharing.stop()
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

    def save_prefs(self) -> None:
        """Keep the host's choices (sharing port, sign-up, owner...) for the next launch."""
        assert self.data_dir is not None
        prefs.save(self.data_dir, self.prefs)
