"""autobahn internals Deskchat relies on: its option dump, its framing and its size limit.

Checked against ``CHECKED_VERSIONS``; this module relies on:

- ``WebSocketProtocol._connectionMade`` copying the factory's options and calling the module
  global ``autobahn.websocket.protocol.pformat`` on them for a debug line, whether or not the
  line is then written (:class:`LazyOptionDump`);
- ``PreparedMessage.payloadHybi`` holding the complete frame a server (unmasked) writes for
  a message, as ``sendPreparedMessage`` writes it; ``_perMessageCompress`` being ``None``
  unless compression was negotiated, and ``send_queue`` being the deque of chopped/synced
  writes still to go (:class:`PreparedTextFrames`);
- ``maxMessagePayloadSize``, the one protocol option for the incoming message limit, being
  read from the protocol instance at send time, for outgoing messages too
  (:func:`send_without_payload_limit`).

Why Deskchat wants each is in ``chatserver/realtime/websocket_protocol.py``.
tests/internals/test_autobahn.py fails when the installed autobahn is outside the checked
range or no longer behaves as relied on here.
"""

from __future__ import annotations

import pprint
from collections.abc import Callable
from typing import Any

import autobahn.websocket.protocol as autobahn_protocol

DISTRIBUTION = "autobahn"
# Checked against 26.11.1: [lowest, first unchecked) as (major, minor) tuples.
CHECKED_VERSIONS = ((26, 11), (26, 12))


class FormattedWhenLogged:
    """``pprint.pformat(value)``, computed only when a log line is actually written."""

    def __init__(self, value: Any, *args: Any, **kwargs: Any) -> None:
        self.value, self.args, self.kwargs = value, args, kwargs

    def __str__(self) -> str:
        return pprint.pformat(self.value, *self.args, **self.kwargs)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class LazyOptionDump:
    """Protocol mixin: autobahn's per-connection option dump formatted only if it is logged.

    While ``_connectionMade`` runs, the module's ``pformat`` returns a
    :class:`FormattedWhenLogged`; the reactor is single-threaded, so nothing else sees the swap.
    """

    def _connectionMade(self) -> None:
        formatter = autobahn_protocol.pformat
        autobahn_protocol.pformat = FormattedWhenLogged
        try:
            super()._connectionMade()
        finally:
            autobahn_protocol.pformat = formatter


class PreparedTextFrames:
    """Protocol mixin: the frame for a text, prepared once per factory for all recipients."""

    def prepared_text_frame(self, text: str) -> bytes | None:
        """The bytes of ``text``'s frame, or None when this socket must frame it itself.

        None when compression was negotiated (each socket compresses with its own state) or
        autobahn still has chopped writes queued (they must go first). The factory keeps the
        last text framed, so a text sent as the same ``str`` object to many sockets is encoded
        and framed once (a server never masks, so the frame is the same for all).
        """
        if self._perMessageCompress is not None or self.send_queue:
            return None
        factory = self.factory
        if getattr(factory, "_framed_text", None) is not text:
            factory._framed = factory.prepareMessage(
                text.encode("utf8"), isBinary=False
            ).payloadHybi
            factory._framed_text = text
        return factory._framed


def send_without_payload_limit(protocol: Any, send: Callable[..., None], *args: Any) -> None:
    """Call ``send(*args)`` with ``protocol``'s message size limit off for that call only."""
    limit = protocol.maxMessagePayloadSize
    protocol.maxMessagePayloadSize = 0
    try:
        send(*args)
    finally:
        protocol.maxMessagePayloadSize = limit
