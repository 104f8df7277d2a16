"""Canary for chatserver/realtime/daphne_internals.py: what ``Server.run`` builds and calls."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

import daphne.server
import pytest
from daphne.http_protocol import WebRequest
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import defer
from twisted.internet.testing import StringTransport

from chatserver.realtime import daphne_internals
from tests.internals import assert_checked_version


class FakeReactor:
    """Records what ``Server.run`` schedules instead of running anything."""

    def __init__(self, seen: dict) -> None:
        self.seen = seen
        self._asyncioEventloop = None

    def callLater(self, *args, **kwargs) -> None: ...
    def addSystemEventTrigger(self, *args, **kwargs) -> None: ...

    def run(self, installSignalHandlers: bool = True) -> None:
        self.seen["reactor ran"] = True


@pytest.fixture
def ran_server(monkeypatch):
    """A real ``daphne.server.Server`` whose ``run`` went as far as ``reactor.run``."""
    seen: dict = {}
    port = object()

    class Endpoint:
        def listen(self, factory):
            seen["listened with"] = factory
            return defer.succeed(port)

    monkeypatch.setattr(daphne.server, "reactor", FakeReactor(seen))
    monkeypatch.setattr(daphne.server, "serverFromString", lambda reactor, text: Endpoint())
    monkeypatch.setattr(daphne.server.globalLogBeginner, "beginLoggingTo", lambda *a, **k: None)
    monkeypatch.setattr(asyncio, "set_event_loop", lambda loop: None)

    def ready() -> None:
        # What install() and the embedded server find when ready_callable runs.
        seen["at ready"] = {
            "ws_factory": getattr(server, "ws_factory", None),
            "http_factory": getattr(server, "http_factory", None),
            "connections": getattr(server, "connections", None),
            "reactor ran": seen.get("reactor ran", False),
        }

    server = daphne.server.Server(
        application=None, endpoints=["tcp:port=0"], signal_handlers=False, ready_callable=ready
    )
    server.run()
    return server, seen, port


def test_the_installed_daphne_is_the_checked_one():
    assert_checked_version(daphne_internals)


def test_run_builds_the_factories_and_lists_before_ready_callable(ran_server):
    server, seen, port = ran_server
    at_ready = seen["at ready"]
    assert at_ready["reactor ran"] is False, "ready_callable must come before reactor.run"
    assert isinstance(at_ready["ws_factory"], WebSocketFactory)
    assert at_ready["http_factory"] is not None and at_ready["connections"] == {}
    assert seen["listened with"] is daphne_internals.http_factory(server)
    assert port is not None
    # The public side the embedded server uses directly.
    assert server.abort_start is False and server.listening_addresses == []


def test_upgraded_connections_are_built_by_ws_factory(ran_server):
    server, _, _ = ran_server

    class Custom(WebSocketProtocol):
        pass

    daphne_internals.use_websocket_protocol(server, Custom, failByDrop=False)
    assert isinstance(server.ws_factory.buildProtocol(None), Custom)
    assert server.ws_factory.failByDrop is False
    assert "self.server.ws_factory.buildProtocol(" in inspect.getsource(WebRequest.process)


def test_a_websocket_asks_its_server_for_the_application_with_its_scope(ran_server):
    server, _, _ = ran_server
    calls = []
    application_queue = asyncio.Queue()

    def create_application(protocol, scope):
        calls.append((protocol, scope))
        return application_queue

    server.create_application = create_application
    server.connections = {}
    protocol = server.ws_factory.buildProtocol(None)
    protocol.transport = StringTransport()
    protocol._raw_query_string = b""
    protocol.onConnect(SimpleNamespace(headers={}, path="/ws/"))
    assert protocol in server.connections, "connections is keyed by the open protocols"
    assert daphne_internals.open_protocols(server) == [protocol]
    assert daphne_internals.open_websockets(server) == [protocol]
    [(called_with, scope)] = calls
    assert called_with is protocol and scope["type"] == "websocket"
    assert application_queue.get_nowait() == {"type": "websocket.connect"}
