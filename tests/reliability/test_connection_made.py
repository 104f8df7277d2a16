"""A new WebSocket connection formats autobahn's option dump only if a log line is written.

autobahn pretty-prints all its protocol options for a debug line on every connection, even
when the line is then dropped; Deskchat's protocol makes that text lazy
(chatserver/realtime/autobahn_internals.py). That autobahn still dumps them there is checked
by tests/internals/test_autobahn.py.
"""

from __future__ import annotations

import pprint

import autobahn.websocket.protocol as autobahn_protocol
from autobahn.twisted.websocket import WebSocketServerFactory
from twisted.internet.testing import StringTransport

from chatserver.realtime import autobahn_internals
from chatserver.realtime.websocket_protocol import GuardedWebSocketProtocol


def open_connection() -> GuardedWebSocketProtocol:
    factory = WebSocketServerFactory()
    factory.protocol = GuardedWebSocketProtocol
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    return protocol


def test_the_option_dump_is_formatted_only_when_written(monkeypatch):
    made: list[autobahn_internals.FormattedWhenLogged] = []

    class Recorded(autobahn_internals.FormattedWhenLogged):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    formatted: list[object] = []
    real_pformat = pprint.pformat

    def counting_pformat(value, *args, **kwargs):
        formatted.append(value)
        return real_pformat(value, *args, **kwargs)

    monkeypatch.setattr(autobahn_internals, "FormattedWhenLogged", Recorded)
    monkeypatch.setattr(pprint, "pformat", counting_pformat)
    original = autobahn_protocol.pformat

    open_connection()

    [dump] = made
    # Nothing was formatted, since the debug line was dropped,
    assert formatted == []
    # the module is as it was,
    assert autobahn_protocol.pformat is original
    # and the line, if written, reads exactly as autobahn's own.
    assert f"\n{dump}" == "\n" + real_pformat(dump.value)
    assert str(dump) == real_pformat(dump.value)
