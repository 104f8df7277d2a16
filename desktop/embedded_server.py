"""Daphne embedded in this process, on a background thread, with a clean stop.

The GUI (or the headless main loop) owns the main thread; Daphne's reactor runs on its own
thread with signal handlers off. Readiness is a signal, never a sleep: the reactor reports that
it is running, then ``/healthz`` must answer.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatserver.config import ConfigError
from desktop import shutdown

logger = logging.getLogger(__name__)

GOING_AWAY = 1001


@dataclass(frozen=True)
class ListenConfig:
    host: str = "127.0.0.1"
    port: int = 0
    cert: str | None = None
    key: str | None = None
    # A Twisted context factory (desktop/certificates.py): TLS whose certificate can change
    # while serving. Only for listeners added with ``add_listener``.
    context: Any = None

    def endpoint(self) -> str:
        host = self.host.replace(":", r"\:")
        if self.cert and self.key:
            return (
                f"ssl:port={self.port}:interface={host}:privateKey={self.key}:certKey={self.cert}"
            )
        return f"tcp:port={self.port}:interface={host}"

    @property
    def scheme(self) -> str:
        return "https" if (self.cert and self.key) or self.context is not None else "http"


class EmbeddedServer:
    """One Daphne server for the life of the process (Twisted's reactor cannot restart)."""

    def __init__(self, listen: ListenConfig) -> None:
        self.listen = listen
        self.port: int | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._finished = threading.Event()
        self._serving = False  # the chat worker was told it serves (realtime/worker.py)
        self._extra: dict[int, object] = {}
        # Called (from the server thread) when the reactor ends, for whatever reason.
        self.on_finished: list[Callable[[], None]] = []

    # --- start ----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> str:
        """Start serving and return the base URL once ``/healthz`` answers.

        A stop requested meanwhile (``desktop.shutdown``) raises ``StartCancelled``; the
        caller's ``stop()`` then ends the reactor this started.
        """
        from daphne.server import Server
        from django.conf import settings

        from chatserver.asgi import application
        from chatserver.realtime import worker

        worker.before_serving()
        self._serving = True

        limits = settings.DESKCHAT
        self._server = Server(
            application=application,
            endpoints=[self.listen.endpoint()],
            signal_handlers=False,
            ready_callable=self._on_ready,
            # Idle sockets are pinged every 20 s and dropped after 30 s without an answer,
            # so a vanished laptop leaves the online list within a minute.
            ping_interval=20,
            ping_timeout=30,
            websocket_connect_timeout=10,
            websocket_handshake_timeout=5,
            # autobahn refuses a larger frame while reading its header, before buffering it.
            websocket_max_message_size=limits["MAX_FRAME_BYTES"],
            websocket_max_frame_size=limits["MAX_FRAME_BYTES"],
            # Counted from a request's last progress, not its start (a 1 GiB download to a
            # slow reader keeps going): chatserver/realtime/http_requests.py.
            http_timeout=limits["HTTP_IDLE_SECONDS"],
            application_close_timeout=5,
            verbosity=0,
        )
        self._thread = threading.Thread(target=self._run, name="daphne", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._running.wait(0.05):
            shutdown.checkpoint()  # the caller's stop() ends the reactor it started
            if time.monotonic() > deadline:
                break
        if not self._running.is_set() or self._server.abort_start:
            self._thread.join(5)
            raise ConfigError(self._listen_failure_text())
        while not self._server.listening_addresses:
            if self._finished.is_set() or time.monotonic() > deadline:
                raise ConfigError(self._listen_failure_text())
            shutdown.checkpoint()
            self._finished.wait(0.01)
        self.port = self._server.listening_addresses[0][1]
        url = self.local_url
        wait_for_health(url, deadline - time.monotonic())
        return url

    @property
    def local_url(self) -> str:
        host = self.listen.host
        if host in {"0.0.0.0", "::", ""}:
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.listen.scheme}://{host}:{self.port}/"

    def _listen_failure_text(self) -> str:
        return (
            f"cannot listen on {self.listen.host}:{self.listen.port} "
            "(is another program using that port?)"
        )

    def _on_ready(self) -> None:
        from twisted.internet import reactor

        from chatserver.realtime import worker

        worker.on_server_ready(self._server)
        reactor.callWhenRunning(self._running.set)

    def _run(self) -> None:
        try:
            self._server.run()
        except Exception:
            logger.exception("the server stopped with an error")
        finally:
            self._running.set()  # unblock a start() that is still waiting
            self._finished.set()
            for callback in self.on_finished:
                callback()

    # --- extra listeners (LAN sharing) ---------------------------------------------------

    def add_listener(self, listen: ListenConfig, timeout: float = 10.0) -> int:
        """Listen on one more address inside the running reactor; returns the port.

        Twisted's reactor cannot be restarted in-process, so sharing on the LAN is switched on
        and off by adding and removing a listener here, not by restarting the server.
        """
        from twisted.internet import reactor, threads
        from twisted.internet.endpoints import SSL4ServerEndpoint, serverFromString

        from chatserver.realtime import daphne_internals

        def start_listening():
            if listen.context is not None:
                endpoint = SSL4ServerEndpoint(
                    reactor, listen.port, listen.context, interface=listen.host
                )
            else:
                endpoint = serverFromString(reactor, listen.endpoint())
            return endpoint.listen(daphne_internals.http_factory(self._server))

        try:
            port = threads.blockingCallFromThread(reactor, start_listening)
        except Exception as exc:
            raise ConfigError(
                f"cannot listen on {listen.host}:{listen.port} "
                f"(is another program using that port?): {exc}"
            ) from None
        number = port.getHost().port
        self._extra[number] = port
        logger.info("listening also on %s:%s", listen.host, number)
        return number

    def remove_listener(self, port: int) -> None:
        """Stop listening on ``port`` and drop the connections that came in through it."""
        from twisted.internet import reactor, threads

        from chatserver.realtime import daphne_internals

        listener = self._extra.pop(port, None)
        if listener is None:
            return

        def stop():
            for protocol in daphne_internals.open_protocols(self._server):
                transport = getattr(protocol, "transport", None)
                if transport is not None and transport.getHost().port == port:
                    transport.loseConnection()
            return listener.stopListening()

        threads.blockingCallFromThread(reactor, stop)
        logger.info("stopped listening on port %s", port)

    # --- stop -----------------------------------------------------------------------------

    def stop(self, timeout: float = 5.0) -> None:
        """Close every WebSocket with 1001 (going away), stop the reactor, forget presence."""
        if self._thread is None or self._finished.is_set():
            self._cleanup()
            return
        from twisted.internet import reactor

        reactor.callFromThread(self._close_sockets_then_stop, timeout / 2)
        self._thread.join(timeout)
        self._cleanup()

    def _close_sockets_then_stop(self, grace: float) -> None:
        from twisted.internet import reactor

        from chatserver.realtime import daphne_internals

        sockets = daphne_internals.open_websockets(self._server)
        for protocol in sockets:
            try:
                protocol.sendClose(code=GOING_AWAY, reason="server shutting down")
            except Exception:  # a socket already half gone
                logger.debug("close failed", exc_info=True)
        deadline = time.monotonic() + grace

        def stop_when_closed() -> None:
            alive = [p for p in sockets if p.transport and p.transport.connected]
            if alive and time.monotonic() < deadline:
                reactor.callLater(0.02, stop_when_closed)
                return
            for port in self._extra.values():
                port.stopListening()
            self._extra.clear()
            self._server.stop()

        stop_when_closed()

    def _cleanup(self) -> None:
        from django.db import connections

        from chatserver.realtime import worker

        if self._serving:
            worker.after_serving()
        connections.close_all()

    def wait(self) -> None:
        """Block until the reactor thread ends."""
        if self._thread is not None:
            self._thread.join()


def wait_for_health(url: str, timeout: float) -> None:
    """Poll ``/healthz`` until it answers 200; readiness is proven, not assumed."""
    import ssl

    context = ssl._create_unverified_context() if url.startswith("https") else None
    deadline = time.monotonic() + max(timeout, 1.0)
    last_error: Exception | None = None
    delay = 0.005
    while time.monotonic() < deadline:
        shutdown.checkpoint()
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2, context=context) as reply:
                if reply.status == 200:
                    return
        except OSError as exc:
            last_error = exc
        threading.Event().wait(delay)
        delay = min(delay * 2, 0.1)
    raise ConfigError(f"the server did not become ready at {url}: {last_error}")
