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

The same protocol writes room messages the fast way (framed once for all members, sent at
once to idle sockets) and sets TCP_NODELAY; both live here because they are the same
``serverSend`` that measures the backlog. So does the one change to how a connection starts
(autobahn's debug line formatted only when it is written).

This module says what the protocol does and why; every reach into a library's private
internals is in ``twisted_internals``, ``autobahn_internals`` or ``daphne_internals``.
"""

from __future__ import annotations

import logging
from typing import Any

from daphne.ws_protocol import WebSocketProtocol

from chatserver.realtime import daphne_internals
from chatserver.realtime.autobahn_internals import (
    LazyOptionDump,
    PreparedTextFrames,
    send_without_payload_limit,
)
from chatserver.realtime.codes import CLOSE_SLOW_READER, RELAY_EXTENSION
from chatserver.realtime.twisted_internals import pending_bytes, write_now

logger = logging.getLogger(__name__)

CLOSE_REASON = "slow reader: reconnect and resume"
CLOSE_GRACE_SECONDS = 5.0


class GuardedWebSocketProtocol(LazyOptionDump, PreparedTextFrames, WebSocketProtocol):
    """Daphne's WebSocket protocol, closing the connection when its reader falls too far behind.

    ``LazyOptionDump``: autobahn pretty-prints its ~40 protocol options for a debug log line
    on every connection, before the logger drops the line (Deskchat never logs autobahn at
    debug): 11 % of the event loop's time in a 200-client connect storm, 0.3 ms of a connect's
    5-6 ms of server CPU (docs/benchmarks.md). The mixin formats it only if it is written.
    """

    max_pending_bytes = 16 * 1024 * 1024
    slow_reader_closed = False

    def connectionMade(self) -> None:
        # Frames leave as soon as they are written (see serverSend), so a small one must
        # not wait for the ACK of the one before (Nagle's algorithm). asyncio, and so the
        # reference server, sets TCP_NODELAY on every socket; Twisted does not. (On loopback
        # no difference was measured; across a Wi-Fi office the delayed ACK is 40 ms.)
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)
        super().connectionMade()

    def serverSend(self, content: Any, binary: bool = False) -> None:
        """Send one frame: refused past the slow-reader limit, text through the fast path.

        The fan-out fast path: a room message reaches every member as the *same* ``str``
        object (encoded once by its sender), one ``serverSend`` after another, so its frame
        is prepared once for all of them (``prepared_text_frame``) and each recipient costs a
        lookup instead of a UTF-8 encode, a frame header and autobahn's per-write logging.
        When nothing is waiting in Twisted's buffer the bytes go to the socket right away
        (``write_now``); otherwise behind the backlog, so order is kept.
        docs/benchmarks.md has the figure.
        """
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
            if not binary:
                frame = self.prepared_text_frame(content)
                if frame is not None:
                    write_now(self.transport, frame, pending == 0)
                    return
        # Daphne passes websocket_max_message_size to autobahn, which applies it to outgoing
        # messages too: a resume batch or a join with long messages would be refused. That
        # limit is meant for what clients send; the server's own frames are bounded by
        # RESUME_BATCH and MAX_BODY_CHARS instead.
        send_without_payload_limit(self, super().serverSend, content, binary)

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


def _relay_for(protocol: Any) -> Any:
    return protocol.relay_text if isinstance(protocol, GuardedWebSocketProtocol) else None


def install(server: Any, max_pending_bytes: int) -> None:
    """Make a running ``daphne.server.Server`` build guarded WebSocket protocols.

    Called from the server's ``ready_callable``: ``Server.run`` has built its WebSocket
    factory by then, and no connection has been accepted yet.
    """
    GuardedWebSocketProtocol.max_pending_bytes = max_pending_bytes
    # failByDrop=False: a refused frame (too big, malformed) gets a close frame with its code
    # (1009, 1002...) before the drop, so the client can say why; autobahn's default is a
    # bare TCP reset.
    daphne_internals.use_websocket_protocol(server, GuardedWebSocketProtocol, failByDrop=False)
    # The relay to WebSockets only; HTTP requests get nothing extra.
    daphne_internals.add_scope_extension(server, RELAY_EXTENSION, _relay_for)
