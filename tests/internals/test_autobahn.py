"""Canary for chatserver/realtime/autobahn_internals.py: option dump, framing, size limit."""

from __future__ import annotations

from collections import deque

import autobahn.websocket.protocol as autobahn_protocol
import pytest
from autobahn.exception import PayloadExceededError
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet.testing import StringTransport

from chatserver.realtime import autobahn_internals
from chatserver.realtime.autobahn_internals import send_without_payload_limit
from tests.internals import assert_checked_version


def open_protocol(protocol_class: type = WebSocketServerProtocol):
    factory = WebSocketServerFactory()
    factory.protocol = protocol_class
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def test_the_installed_autobahn_is_the_checked_one():
    assert_checked_version(autobahn_internals)


def test_connection_made_formats_the_options_with_the_module_pformat(monkeypatch):
    dumped = []
    monkeypatch.setattr(autobahn_protocol, "pformat", lambda value: dumped.append(value) or "")
    protocol, _ = open_protocol()
    assert len(dumped) == 1, "autobahn no longer calls pformat in _connectionMade: drop the swap"
    assert ("autoPingInterval", protocol.autoPingInterval, "WebSocketServerFactory") in dumped[0]


def test_the_lazy_dump_restores_pformat():
    class Lazy(autobahn_internals.LazyOptionDump, WebSocketServerProtocol):
        pass

    original = autobahn_protocol.pformat
    open_protocol(Lazy)
    assert autobahn_protocol.pformat is original


@pytest.mark.parametrize("size", [0, 5, 125, 126, 70_000])
def test_a_prepared_frame_is_what_send_message_writes(size):
    protocol, transport = open_protocol()
    protocol.state = protocol.STATE_OPEN
    payload = ("ж" * size).encode()[:size]
    protocol.sendMessage(payload)
    prepared = protocol.factory.prepareMessage(payload, isBinary=False)
    same = transport.value() == prepared.payloadHybi
    assert same, "a server's prepared frame no longer equals what sendMessage writes"


def test_compression_and_queued_writes_are_where_they_were():
    protocol, _ = open_protocol()
    assert protocol._perMessageCompress is None
    assert protocol.send_queue == deque()
    # sendPreparedMessage itself tells compression by _perMessageCompress ...
    sent = []
    protocol.sendMessage = lambda payload, binary: sent.append(payload)
    protocol._perMessageCompress = object()
    protocol.sendPreparedMessage(protocol.factory.prepareMessage(b"hi"))
    assert sent == [b"hi"]
    # ... and synced writes wait in send_queue while a queued send is under way.
    protocol.state = protocol.STATE_OPEN
    protocol.triggered = True
    protocol.sendData(b"a", sync=True)
    assert list(protocol.send_queue) == [(b"a", True)]


def test_the_message_limit_applies_to_outgoing_messages_too():
    protocol, _ = open_protocol()
    protocol.state = protocol.STATE_OPEN
    protocol.maxMessagePayloadSize = 10
    with pytest.raises(PayloadExceededError):
        protocol.sendMessage(b"x" * 11)
    send_without_payload_limit(protocol, protocol.sendMessage, b"x" * 11)
    assert protocol.maxMessagePayloadSize == 10
