"""A new WebSocket connection formats autobahn's option dump only if a log line is written.

autobahn pretty-prints all its protocol options for a debug line on every connection, even
when the line is then dropped; Deskchat's protocol makes that text lazy
(chatserver/realtime/websocket_protocol.py).
"""

from __future__ import annotations

import pprint

import autobahn.websocket.protocol as autobahn_protocol
from autobahn.twisted.websocket import WebSocketServerFactory
from twisted.internet.testing import StringTransport

from chatserver.realtime import websocket_protocol as slow_reader


def open_connection() -> slow_reader.GuardedWebSocketProtocol:
    factory = WebSocketServerFactory()
    factory.protocol = slow_reader.GuardedWebSocketProtocol
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    return protocol


def test_the_option_dump_is_formatted_only_when_written(monkeypatch):
    made: list[slow_reader.FormattedWhenLogged] = []

    class Recorded(slow_reader.FormattedWhenLogged):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    formatted: list[object] = []
    real_pformat = pprint.pformat

    def counting_pformat(value, *args, **kwargs):
        formatted.append(value)
        return real_pformat(value, *args, **kwargs)

    monkeypatch.setattr(slow_reader, "FormattedWhenLogged", Recorded)
    monkeypatch.setattr(pprint, "pformat", counting_pformat)
    original = autobahn_protocol.pformat

    protocol = open_connection()

    # autobahn still dumps its options here (else the swap buys nothing and can go) ...
    assert len(made) == 1, "autobahn no longer calls pformat in _connectionMade"
    options = made[0].value
    assert ("autoPingInterval", protocol.autoPingInterval, "WebSocketServerFactory") in options
    # ... but nothing was formatted, since the debug line was dropped,
    assert formatted == []
    # the module is as it was,
    assert autobahn_protocol.pformat is original
    # and the line, if written, reads exactly as autobahn's own.
    assert f"\n{made[0]}" == "\n" + real_pformat(options)
    assert str(made[0]) == real_pformat(options)
