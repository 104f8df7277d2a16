"""Daphne's WebSocket protocol as Deskchat runs it: slow readers closed, fan-out written fast.

Closing WebSockets whose client stopped reading, before their backlog grows without bound.

Daphne has no backpressure: a frame the application sends is handed to Twisted, which keeps
every byte the kernel cannot take yet in the connection's write buffer. A client that stops
reading (a frozen tab, a suspended laptop, a hostile script) therefore makes the server hold
every message addressed to it, for ever. It does not slow anyone else down (each socket has
its own buffer), so the only harm is memory, and that is what is bounded here.

Before relaying a frame, :class:`GuardedWebSocketProtocol` measures what is still unsent on
that connection. Past ``DESKCHAT_SLOW_READER_BYTES`` it stops relaying, sends a close frame
with code 4009 (``CLOSE_SLOW_READER``: "reconnect and resume") and gives the client
``CLOSE_GRACE_SECONDS`` to read up to it before the connection is dropped. Nothing is lost:
every message is in the database, and ``resume`` fetches what the client missed.

The same protocol writes room messages the fast way (``_send_text_now``: framed once for all
members, sent at once to idle sockets) and sets TCP_NODELAY; both live here because they are
the same ``serverSend`` that measures the backlog. So does the one change to how a connection
starts (``_connectionMade``: autobahn's debug line formatted only when it is written).
"""

from __future__ import annotations

import logging
import pprint
from typing import Any

import autobahn.websocket.protocol as autobahn_protocol
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp

logger = logging.getLogger(__name__)

CLOSE_SLOW_READER = 4009  # also chatserver.realtime.consumer.CLOSE_SLOW_READER (docs/protocol.md)
CLOSE_REASON = "slow reader: reconnect and resume"
CLOSE_GRACE_SECONDS = 5.0
# The ASGI scope extension carrying relay_text; also chatserver.realtime.consumer.RELAY_EXTENSION.
RELAY_EXTENSION = "deskchat.relay_text"


def pending_bytes(transport: Any) -> int:
    """Bytes written to ``transport`` that the kernel has not accepted yet.

    Reads Twisted's ``FileDescriptor`` buffers (``dataBuffer`` from ``offset``, plus the
    ``_tempDataBuffer`` list) and, under TLS, the wrapper's plaintext buffer and the TCP
    transport below it. tests/reliability/test_slow_reader.py fails if Twisted renames them.
    """
    total = 0
    for _ in range(3):  # TCP, or TLS over TCP
        if transport is None:
            break
        buffer = getattr(transport, "dataBuffer", None)
        if buffer is not None:
            total += len(buffer) - getattr(transport, "offset", 0)
            total += getattr(transport, "_tempDataLen", 0)
        app_buffer = getattr(transport, "_appSendBuffer", None)
        if app_buffer:
            total += sum(len(chunk) for chunk in app_buffer)
        transport = getattr(transport, "transport", None)
    return total


class FormattedWhenLogged:
    """``pprint.pformat(value)``, computed only when a log line is actually written."""

    def __init__(self, value: Any, *args: Any, **kwargs: Any) -> None:
        self.value, self.args, self.kwargs = value, args, kwargs

    def __str__(self) -> str:
        return pprint.pformat(self.value, *self.args, **self.kwargs)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class GuardedWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol, closing the connection when its reader falls too far behind."""

    max_pending_bytes = 16 * 1024 * 1024
    slow_reader_closed = False

    def connectionMade(self) -> None:
        # Frames leave as soon as they are written (see _send_text_now), so a small one must
        # not wait for the ACK of the one before (Nagle's algorithm). asyncio, and so the
        # reference server, sets TCP_NODELAY on every socket; Twisted does not. (On loopback
        # no difference was measured; across a Wi-Fi office the delayed ACK is 40 ms.)
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)
        super().connectionMade()

    def _connectionMade(self) -> None:
        # autobahn pretty-prints its ~40 protocol options for a debug log line on every
        # connection, before the logger drops the line (Deskchat never logs autobahn at
        # debug): 11 % of the event loop's time in a 200-client connect storm, 0.3 ms of a
        # connect's 5-6 ms of server CPU (docs/benchmarks.md). While the options are copied,
        # the module's pformat returns a value formatted when (if ever) the line is written;
        # the reactor is single-threaded, so nothing else sees the swap.
        # tests/reliability/test_connection_made.py fails if autobahn stops calling it here.
        formatter = autobahn_protocol.pformat
        autobahn_protocol.pformat = FormattedWhenLogged
        try:
            super()._connectionMade()
        finally:
            autobahn_protocol.pformat = formatter

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # The client is going (or we closed it): frames still in flight from the
            # application are dropped. Daphne would raise here, killing the consumer before
            # its disconnect handler could clear the user's presence.
            return
        if self.state == self.STATE_OPEN:
            pending = pending_bytes(self.transport)
            if pending > self.max_pending_bytes:
                self.close_slow_reader(pending)
                return
            if not binary and self._perMessageCompress is None and not self.send_queue:
                self._send_text_now(content, idle=pending == 0)
                return
        # Daphne passes websocket_max_message_size to autobahn, which applies it to outgoing
        # messages too: a resume batch or a join with long messages would be refused. That
        # limit is meant for what clients send; the server's own frames are bounded by
        # RESUME_BATCH and MAX_BODY_CHARS instead.
        incoming_limit = self.maxMessagePayloadSize
        self.maxMessagePayloadSize = 0
        try:
            super().serverSend(content, binary)
        finally:
            self.maxMessagePayloadSize = incoming_limit

    def relay_text(self, text: str) -> bool:
        """Send one text frame now, as the ASGI ``send`` would; False when the socket is not
        open (the caller then goes through ``send``, which says what is wrong).

        Offered to the application as the ``deskchat.relay_text`` scope extension (see
        :func:`install`): a room message reaches each member through this plain call instead
        of three coroutines (the consumer's ``send``, Daphne's ``Server.handle_reply`` and
        its message checks) per recipient. Same ``serverSend``, so the same order, the same
        slow-reader check and the same fast path. docs/benchmarks.md has the figure.
        """
        if self.state != self.STATE_OPEN:
            return False
        self.serverSend(text, False)
        return True

    def _send_text_now(self, text: str, *, idle: bool) -> None:
        """The fan-out fast path: frame a text once for all its recipients, write it at once.

        A room message reaches every member as the *same* ``str`` object (encoded once by its
        sender), one ``serverSend`` after another, so the factory keeps the last one framed
        (autobahn's ``PreparedMessage``; the server never masks) and each recipient costs a
        lookup instead of a UTF-8 encode, a frame header and autobahn's per-write logging.
        When nothing is waiting in Twisted's buffer the bytes go to the socket right away:
        ``transport.write`` would register the socket with epoll, wait for the next loop
        turn and unregister it again, two extra system calls per frame. Whatever the kernel
        does not take, and every write while something is still buffered, goes through
        ``transport.write`` as before, so order is kept. docs/benchmarks.md has the figure.
        """
        factory = self.factory
        if getattr(factory, "_framed_text", None) is not text:
            factory._framed = factory.prepareMessage(text.encode("utf8"), isBinary=False)
            factory._framed_text = text
        data = factory._framed.payloadHybi
        transport = self.transport
        # Plain TCP only: a TLS wrapper forwards attribute reads (``socket`` included) to the
        # TCP transport below it, whose socket must only ever carry encrypted bytes.
        plain = isinstance(transport, tcp.Connection) and not transport.TLS
        if not (idle and plain) or transport.disconnecting or not transport.connected:
            transport.write(data)
            return
        try:
            sent = transport.socket.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            transport.write(data)  # a broken connection: let Twisted notice it its own way
            return
        if sent < len(data):
            transport.write(data[sent:])

    def close_slow_reader(self, pending: int) -> None:
        """Stop relaying; the close frame queues behind the backlog, then a hard drop."""
        self.slow_reader_closed = True
        logger.warning(
            "closing slow reader %s with %d: %d bytes it has not read (limit %d)",
            self.client_addr,
            CLOSE_SLOW_READER,
            pending,
            self.max_pending_bytes,
        )
        # autobahn drops the connection if the close handshake is not answered in time.
        self.closeHandshakeTimeout = CLOSE_GRACE_SECONDS
        self.sendClose(code=CLOSE_SLOW_READER, reason=CLOSE_REASON)


def install(server: Any, max_pending_bytes: int) -> None:
    """Make a running ``daphne.server.Server`` build guarded WebSocket protocols.

    Called from the server's ``ready_callable``: ``Server.run`` has built its WebSocket
    factory by then, and no connection has been accepted yet.
    """
    GuardedWebSocketProtocol.max_pending_bytes = max_pending_bytes
    server.ws_factory.protocol = GuardedWebSocketProtocol
    create_application = server.create_application

    def create_with_relay(protocol: Any, scope: dict[str, Any]) -> Any:
        # ASGI's place for what a server offers beyond the spec: scope["extensions"].
        if isinstance(protocol, GuardedWebSocketProtocol):
            scope.setdefault("extensions", {})[RELAY_EXTENSION] = protocol.relay_text
        return create_application(protocol, scope)

    server.create_application = create_with_relay
    # A refused frame (too big, malformed) gets a close frame with its code (1009, 1002...)
    # before the drop, so the client can say why; autobahn's default is a bare TCP reset.
    server.ws_factory.setProtocolOptions(failByDrop=False)
